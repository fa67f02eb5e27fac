//! The invariant of this crate: no crate of the workspace lists it outside
//! `[dev-dependencies]`, so test support never reaches the `trestle` binary.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn every_workspace_crate_takes_the_testkit_only_as_a_dev_dependency() {
    let crates_directory = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut manifests_read = 0;
    let mut dev_dependents = Vec::new();
    for entry in std::fs::read_dir(crates_directory).unwrap() {
        let manifest_path = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest_path) else {
            continue;
        };
        let manifest: toml::Table = toml::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", manifest_path.display()));
        manifests_read += 1;
        let mut tables = vec![("", &manifest)];
        if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
            for (target, table) in targets {
                tables.push((target.as_str(), table.as_table().unwrap()));
            }
        }
        for (target, table) in tables {
            for section in ["dependencies", "build-dependencies"] {
                let listed = table
                    .get(section)
                    .and_then(toml::Value::as_table)
                    .is_some_and(|dependencies| dependencies.contains_key("trestle-testkit"));
                assert!(
                    !listed,
                    "{} lists trestle-testkit under {target}[{section}]; test support belongs under [dev-dependencies] only",
                    manifest_path.display()
                );
            }
            if table
                .get("dev-dependencies")
                .and_then(toml::Value::as_table)
                .is_some_and(|dependencies| dependencies.contains_key("trestle-testkit"))
            {
                dev_dependents.push(manifest_path.clone());
            }
        }
    }
    assert!(
        manifests_read >= 10,
        "read only {manifests_read} crate manifests"
    );
    assert!(
        !dev_dependents.is_empty(),
        "no crate uses the testkit: the check above would prove nothing"
    );
}
