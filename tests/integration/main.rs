//! Integration tests: the handler against the moto emulator (started by the tests), scripted
//! AWS errors, and the built binary under a Lambda Runtime API stand-in.

mod binary;
mod failures;
mod lifecycle;
mod scripted;
mod support;
