//! Integration tests: the handler against the moto emulator (started by the tests), scripted
//! AWS errors, and the built binary under a Lambda Runtime API stand-in.

mod support;

mod binary;
mod components;
mod emulator;
mod failures;
mod features;
mod guard;
mod lifecycle;
mod load;
mod ownership;
mod policies;
mod races;
mod scripted;
