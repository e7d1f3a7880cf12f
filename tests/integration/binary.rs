//! The built function as Lambda runs it: under a Runtime API stand-in, its logs captured, and
//! with a panic; the release's panic strategy; and the README's demo (cargo lambda watch and
//! invoke).

use crate::support::aws::Aws;
use crate::support::http::port_no_test_binds;
use crate::support::runtime_api::{Function, Outcome, RuntimeApi, TempDir};
use crate::support::{SIGNATURE, Stack, assert_failed, assert_success};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const FUNCTION: &str = env!("CARGO_BIN_EXE_sagemaker-async-autoscaling");

fn response(outcome: &Outcome) -> &Value {
    match outcome {
        Outcome::Response(body) => body,
        Outcome::Error(body) => panic!("expected a response, got the error {body}"),
    }
}

/// The last `count` lines of `text`: a failure's cause is at the end of a build's or a script's
/// output, and CI shows the end of what the tests print.
fn tail(text: &[u8], count: usize) -> String {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// PATH with the project's virtual environment first, where `make setup` put cargo-lambda.
fn path_with_venv() -> String {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin");
    format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test]
async fn the_function_serves_a_lifecycle_with_one_log_line_per_call_and_no_signature() {
    let aws = Aws::start().await;
    let runtime = RuntimeApi::start(Duration::from_secs(60)).await;
    let stack = Stack::new(aws.clients().await, "binary-logs").await;
    let props = json!({"EndpointName": "esd-binary-logs", "VariantName": "prod"});
    let id = "endpoint/esd-binary-logs/variant/prod";
    runtime.push(stack.event("Create", None, props.clone(), None));
    runtime.push(json!({"source": "aws.events", "detail-type": "Scheduled Event"}));
    runtime.push(stack.event("Update", Some(id), props.clone(), Some(props.clone())));
    runtime.push(stack.event("Delete", Some(id), props, None));

    let function = Function::spawn(
        FUNCTION,
        &runtime,
        &[
            ("AWS_ENDPOINT_URL", &aws.url()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    );
    let outcomes = runtime.wait_for(4, Duration::from_secs(60)).await;

    for (i, outcome) in [0, 2, 3].map(|i| (i, &outcomes[i])) {
        assert_eq!(
            response(outcome)["Status"],
            "SUCCESS",
            "invocation {i}: {outcome:?}"
        );
    }
    let Outcome::Error(error) = &outcomes[1] else {
        panic!(
            "a non-CloudFormation event is an invocation error: {:?}",
            outcomes[1]
        );
    };
    assert_eq!(error["errorType"], "Unanswerable");
    let answers: Vec<_> = stack.cfn.received().iter().map(|r| r.json()).collect();
    assert_eq!(answers.len(), 3);
    answers.iter().for_each(assert_success);

    let output = function.output();
    assert!(
        !output.contains(SIGNATURE),
        "the ResponseURL's signature leaked:\n{output}"
    );
    assert!(
        !output.contains("X-Amz-Signature"),
        "the ResponseURL's query leaked:\n{output}"
    );
    let lines: Vec<Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let aws_call_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "AWS call")
        .collect();
    assert_eq!(
        aws_call_lines.len(),
        aws.calls().len(),
        "one line per AWS call"
    );
    let answer_lines = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "answer sent")
        .count();
    assert_eq!(answer_lines, 3, "one line per answer sent");
    for line in aws_call_lines {
        let span = &line["span"];
        assert_eq!(span["logical_resource_id"], "EndpointAutoScaling", "{line}");
        assert!(
            span["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        assert!(
            ["Create", "Update", "Delete"].contains(&span["request_type"].as_str().unwrap()),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_panic_is_answered_failed_and_the_function_keeps_serving() {
    let aws = Aws::start().await;
    let runtime = RuntimeApi::start(Duration::from_secs(60)).await;
    let stack = Stack::new(aws.clients().await, "function-panic").await;
    runtime.push(stack.event(
        "Create",
        None,
        json!({"EndpointName": "esd-function-panic"}),
        None,
    ));
    runtime.push(stack.event("Delete", Some("create-failed/x"), json!({}), None));
    // The debug build's fault switch (a release has none): the handler panics on every event.
    let mut function = Function::spawn(
        FUNCTION,
        &runtime,
        &[
            ("AWS_ENDPOINT_URL", &aws.url()),
            ("SAGEMAKER_AUTOSCALING_FAULT", "panic"),
        ],
    );

    let outcomes = runtime
        .wait_for_function(&mut function, 2, Duration::from_secs(60))
        .await;
    for outcome in &outcomes {
        assert_eq!(response(outcome)["Status"], "FAILED");
    }
    let answers: Vec<_> = stack.cfn.received().iter().map(|r| r.json()).collect();
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_failed(
            answer,
            &["Internal error: the function panicked (fault injected"],
        );
    }
    assert!(
        function.is_running(),
        "the process did not survive both panics: it {}; its log:\n{}",
        function.exit_status(),
        function.output()
    );
}

/// The test above catches a panic in the debug build; a release catches it too only if it
/// unwinds, which src/lib.rs enforces: a build that aborts on panic does not compile. What
/// would make the release abort is cargo-lambda, which builds releases with `panic = "abort"`
/// unless Cargo.toml's release profile says otherwise. So this asks cargo-lambda for the
/// release it would build (a stand-in for cargo records its command and builds nothing) and
/// asks cargo for that build's plan (its unit graph): every crate must be planned to unwind, or
/// the release `cargo lambda build` makes would fail to compile. Nothing is compiled, which
/// would take minutes.
#[test]
fn the_release_cargo_lambda_builds_is_planned_to_unwind_on_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = TempDir::new();
    let plan = scratch.0.join("unit-graph.json");
    // Answers cargo-lambda's `cargo metadata` with the real cargo; its `cargo build` becomes the
    // same command's unit graph (an unstable flag, hence RUSTC_BOOTSTRAP), and fails, which
    // stops cargo-lambda; anything else fails.
    let shim = scratch.0.join("cargo");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let script = format!(
        "#!/bin/sh\n\
         case \"$1\" in\n\
         metadata) exec '{cargo}' \"$@\" ;;\n\
         build) RUSTC_BOOTSTRAP=1 '{cargo}' \"$@\" --unit-graph -Z unstable-options >'{}' ;;\n\
         esac\n\
         exit 1\n",
        plan.display()
    );
    std::fs::write(&shim, script).unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // cargo-lambda itself, not through `cargo lambda`: cargo would hand it the real cargo.
    let build = Command::new(root.join(".venv/bin/cargo-lambda"))
        .args(["lambda", "build", "--release"])
        .current_dir(root)
        .env("PATH", path_with_venv())
        .env("CARGO", &shim)
        .output()
        .expect("cargo lambda runs (make setup installs it)");
    let plan = std::fs::read(&plan).unwrap_or_else(|_| {
        panic!(
            "cargo-lambda never asked for a build ({}):\n{}",
            build.status,
            tail(&build.stderr, 30)
        )
    });
    let plan: Value = serde_json::from_slice(&plan).expect("a unit graph");

    let units = plan["units"].as_array().unwrap();
    let function = units
        .iter()
        .find(|u| {
            u["target"]["name"] == "sagemaker-async-autoscaling"
                && u["target"]["kind"] == json!(["bin"])
        })
        .expect("the function's binary is in the plan");
    assert_eq!(function["profile"]["name"], "release", "{function}");
    let aborting: Vec<&Value> = units
        .iter()
        .filter(|u| u["profile"]["panic"] != "unwind")
        .map(|u| &u["target"]["name"])
        .collect();
    assert!(
        aborting.is_empty(),
        "{} of {} crates compiled with panic = abort, such as {:?}",
        aborting.len(),
        units.len(),
        &aborting[..aborting.len().min(3)]
    );
}

#[test]
fn the_readme_demo_walks_a_variants_and_a_components_lifecycle_and_an_instance_type_change_with_cargo_lambda()
 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = TempDir::new();
    let moto_port = port_no_test_binds(&[]);
    let invoke_port = port_no_test_binds(&[moto_port]);
    let run = Command::new(root.join("scripts/demo.sh"))
        .env("FUNCTION_BINARY", FUNCTION)
        .env("MOTO_PORT", moto_port.to_string())
        .env("INVOKE_PORT", invoke_port.to_string())
        .env("TMPDIR", &scratch.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "demo failed ({}); the end of its output:\n{}\nand of its errors:\n{}",
        run.status,
        tail(&run.stdout, 40),
        tail(&run.stderr, 20)
    );
    // Create, Update, the guard's Create and Update, the Update after the endpoint's, both
    // Deletes; then the inference component's Create, Update and Delete.
    assert_eq!(
        stdout.matches("CloudFormation received: SUCCESS").count(),
        10,
        "{stdout}"
    );
    assert!(
        stdout.contains("Deregistered endpoint/esd-type-c356f91/variant/prod (instance type ml.g4dn.xlarge -> ml.g4dn.2xlarge)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("endpoint esd-type-c356f91: InService on esd-type-c356f91-config-2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("scalable target: capacity 0..1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("policy: ApproximateBacklogSizePerInstance-ScalingPolicy"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "scheduled action: night-off cron(0 20 ? * MON-FRI *) Europe/Berlin -> capacity 0..0"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "policy: InvocationsPerCopy-ScalingPolicy (TargetTrackingScaling) \
             SageMakerInferenceComponentInvocationsPerCopy"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "alarm: esd-llm-ic-NoCapacityInvocationFailures on NoCapacityInvocationFailures"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Demo passed"), "{stdout}");
}
