//! Embeds every `catalog/*.toml` service file and every `catalog/choices/*.toml` choice set into
//! the library, so the catalog ships inside the binary and a new service is added by dropping a
//! file into the folder.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest_directory = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let catalog_directory = Path::new(&manifest_directory).join("catalog");
    let mut generated = String::new();
    embed(&mut generated, "CATALOG_FILES", &catalog_directory);
    embed(
        &mut generated,
        "CHOICE_SET_FILES",
        &catalog_directory.join("choices"),
    );
    let output_directory = std::env::var("OUT_DIR").unwrap_or_default();
    let _ = std::fs::write(
        Path::new(&output_directory).join("catalog_files.rs"),
        generated,
    );
}

fn embed(generated: &mut String, constant: &str, directory: &Path) {
    println!("cargo:rerun-if-changed={}", directory.display());
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_file())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let _ = writeln!(
        generated,
        "/// Embedded files: (file name, contents).\npub(crate) static {constant}: &[(&str, &str)] = &["
    );
    for name in &names {
        let path = directory.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            generated,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    generated.push_str("];\n");
}
