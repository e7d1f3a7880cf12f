//! The README's complete template is `examples/minimal.yaml`, which `make lint` checks: the two
//! must not drift apart.

#[test]
fn the_readmes_complete_template_is_examples_minimal_yaml() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    // A checkout may turn line ends into CRLF; the comparison is of the text.
    let read = |path: &str| read(path).replace("\r\n", "\n");
    let (readme, file) = (read("README.md"), read("examples/minimal.yaml"));
    let marker = "<!-- examples/minimal.yaml -->\n```yaml\n";
    assert_eq!(readme.matches(marker).count(), 1, "one marked block");
    let start = readme.find(marker).expect("the README marks the block") + marker.len();
    let length = readme[start..].find("```\n").expect("the block ends");
    assert_eq!(
        &readme[start..start + length],
        file,
        "README.md's block and examples/minimal.yaml differ"
    );
}
