//! A bounded fuzz run inside the normal test suite: the fixture programs, the benchmark
//! programs and the corpus (when TRESTLE_DELUGE_CORPUS is set), plus thousands of random
//! and mutated inputs, go through the same `fuzzing::run_one` as the cargo-fuzz target.
//! A panic fails the test; `run_one` returning proves termination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use trestle_deluge::fuzzing::{CaseEnd, run_one};

/// xorshift64*: deterministic, so a failure reproduces.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut folders = vec![
        root.join("tests/programs"),
        root.join("../../bench/deluge"),
        root.join("../../examples"),
    ];
    if let Some(corpus) = std::env::var_os("TRESTLE_DELUGE_CORPUS") {
        folders.push(PathBuf::from(corpus));
    }
    let mut seeds = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_some_and(|ext| ext == "dg") {
                seeds.push(std::fs::read(&path).unwrap());
            }
        }
    }
    seeds
}

const TOKENS: &[&str] = &[
    "for each x in ",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    "if(",
    "else",
    "try",
    "catch (e)",
    "info ",
    "return ",
    "break;",
    "continue;",
    "throw ",
    "\"text\"",
    "'01-Jan-2020'",
    "1.5",
    "42",
    "-",
    "+",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "&&",
    "||",
    "!",
    " in ",
    " not in ",
    "null",
    "true",
    "x",
    "y",
    ".get(",
    ".put(",
    ".add(",
    ".toList(",
    ".toMap()",
    ".toString()",
    "Map()",
    "List()",
    "{\"k\":1}",
    "invokeurl [ url: \"u\" type: GET ]",
    "zoho.crm.getRecords(",
    "standalone.f(",
    "ifnull(",
    "if(true,1,2)",
    ",",
    ":",
    "=",
    "+=",
    "\n",
    "leftPad(100000)",
    "repeat(1000)",
    "/*",
    "*/",
    "//",
    "\\",
    "for each index i in ",
];

fn mutate(random: &mut Random, input: &[u8]) -> Vec<u8> {
    let mut output = input.to_vec();
    for _ in 0..=random.below(4) {
        let position = random.below(output.len() + 1);
        match random.below(5) {
            0 if !output.is_empty() => {
                let end = (position + random.below(16)).min(output.len());
                output.drain(position.min(end)..end);
            }
            1 => {
                let token = TOKENS[random.below(TOKENS.len())].as_bytes();
                output.splice(position..position, token.iter().copied());
            }
            2 if !output.is_empty() => {
                let index = position.min(output.len() - 1);
                output[index] = random.next() as u8;
            }
            3 if !output.is_empty() => {
                // Duplicate a slice: nested blocks, repeated statements.
                let start = random.below(output.len());
                let end = (start + random.below(64)).min(output.len());
                let slice = output[start..end].to_vec();
                output.splice(position..position, slice);
            }
            _ => {
                let token = TOKENS[random.below(TOKENS.len())].as_bytes();
                output.extend_from_slice(token);
            }
        }
    }
    output
}

#[test]
fn thousands_of_inputs_neither_panic_nor_hang() {
    let seeds = seeds();
    assert!(seeds.len() >= 20, "fixture programs must be found");
    let mut random = Random(0x5EED_DE1A_6E00_0001);
    let mut counts = [0usize; 3];
    let mut record = |end: CaseEnd| {
        counts[match end {
            CaseEnd::CompileErrors => 0,
            CaseEnd::Finished => 1,
            CaseEnd::Failed => 2,
        }] += 1;
    };
    for seed in &seeds {
        record(run_one(seed));
    }
    for round in 0..3_000 {
        let input = if round % 10 == 0 {
            // Pure token soup.
            let mut soup = Vec::new();
            for _ in 0..random.below(40) {
                soup.extend_from_slice(TOKENS[random.below(TOKENS.len())].as_bytes());
            }
            soup
        } else {
            let seed = &seeds[random.below(seeds.len())];
            mutate(&mut random, seed)
        };
        record(run_one(&input));
    }
    // The mutations must reach the VM, not only the parser.
    assert!(counts[1] + counts[2] > 300, "runs: {counts:?}");
    assert!(counts[0] > 100, "compile errors: {counts:?}");
}
