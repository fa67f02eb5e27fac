//! The whole-number fast paths ([`Op::LongPush`], [`Op::LongStore`], [`Op::LongBranch`])
//! must never change what a program does: every script here runs compiled with and
//! without them, and everything observable (info lines, return value, error with its
//! location, statements counted, where the run yielded) must be identical. Each script
//! also checks that the fast path it is about was really emitted.

use std::sync::Arc;

use crate::compile::code::Op;
use crate::compile::{FastPaths, Program, compile_source_with};
use crate::effect::EffectResult;
use crate::limits::Limits;
use crate::value::OwnedValue;
use crate::vm::{Resume, Run, RunContext, Step};

/// Everything a run shows, step by step.
fn observe(program: Arc<Program>, limits: Limits) -> Vec<String> {
    let mut observed = Vec::new();
    let mut run = Run::new(program, Vec::new(), limits, RunContext::default()).unwrap();
    let mut input = Resume::Continue;
    for _ in 0..10_000 {
        match run.resume(input) {
            Step::Yield => {
                observed.push(format!("yield after {}", run.statements_executed()));
                input = Resume::Continue;
            }
            Step::Effect(effect) => {
                observed.push(format!("effect {effect:?}"));
                input = Resume::Effect(EffectResult::Value(OwnedValue::Null));
            }
            Step::Finished(outcome) => {
                observed.push(format!("finished {outcome:?}"));
                return observed;
            }
            Step::Failed(failure) => {
                observed.push(format!("failed {failure:?}"));
                return observed;
            }
        }
    }
    observed.push("did not finish".to_owned());
    observed
}

fn compiled(source: &str, fast_paths: FastPaths) -> Arc<Program> {
    match compile_source_with(source, fast_paths) {
        Ok(program) => program,
        Err(error) => panic!("{error}\n{source}"),
    }
}

fn count_ops(program: &Program, wanted: fn(&Op) -> bool) -> usize {
    program.code.iter().filter(|op| wanted(op)).count()
}

fn is_push(op: &Op) -> bool {
    matches!(op, Op::LongPush { .. })
}

fn is_store(op: &Op) -> bool {
    matches!(op, Op::LongStore { .. })
}

fn is_branch(op: &Op) -> bool {
    matches!(op, Op::LongBranch { .. })
}

/// Runs `source` both ways with `limits`; returns what the fast version showed.
fn same_both_ways(source: &str, limits: Limits) -> Vec<String> {
    let fast = compiled(source, FastPaths::On);
    let ordinary = compiled(source, FastPaths::Off);
    assert_eq!(
        count_ops(&ordinary, |op| is_push(op) || is_store(op) || is_branch(op)),
        0,
        "FastPaths::Off emitted a fast path"
    );
    let fast_observed = observe(fast, limits);
    let ordinary_observed = observe(ordinary, limits);
    assert_eq!(fast_observed, ordinary_observed, "{source}");
    fast_observed
}

/// Runs `source` both ways and checks the fast version has `expected` ops of each kind
/// (push, store, branch).
fn check(source: &str, expected: (usize, usize, usize)) -> Vec<String> {
    let fast = compiled(source, FastPaths::On);
    let counts = (
        count_ops(&fast, is_push),
        count_ops(&fast, is_store),
        count_ops(&fast, is_branch),
    );
    assert_eq!(
        counts,
        expected,
        "fast paths (push, store, branch) of\n{source}\n{}",
        fast.disassemble()
    );
    same_both_ways(source, Limits::default())
}

fn last(observed: &[String]) -> &str {
    observed.last().map_or("", String::as_str)
}

#[test]
fn whole_number_loops_give_the_ordinary_results() {
    let observed = check(
        "digits = {0, 1, 2, 3};\ntotal = 0;\nfor each a in digits\n{\n\tfor each b in digits\n\t{\n\t\ttotal = total + a * b - b + a % 3 + (a + 1) * (b + 2);\n\t}\n}\ninfo total;\nreturn total;",
        (0, 1, 0),
    );
    assert!(last(&observed).contains("Long(164)"), "{observed:?}");
}

#[test]
fn non_whole_numbers_take_the_ordinary_path_with_its_errors() {
    // Text, decimals, null and booleans in the variables: the fast path steps aside for
    // each; null and booleans fail in the ordinary code with its message and line.
    let observed = check(
        "results = List();\nfor each v in {1, \"2\", 3.5, null, true, 4}\n{\n\ttry\n\t{\n\t\tx = v * 2 + 1;\n\t\tresults.add(x);\n\t\tresults.add(v * 3 - 1 > 5);\n\t}\n\tcatch (e)\n\t{\n\t\tresults.add(e.lineNo + \": \" + e);\n\t}\n}\nreturn results;",
        (1, 1, 0),
    );
    assert!(last(&observed).contains("\"6: "), "{observed:?}");
}

#[test]
fn overflow_falls_back_and_fails_where_the_ordinary_code_fails() {
    let observed = check(
        "big = 9223372036854775807;\nsmall = 1;\ntry\n{\n\tx = big + small - small;\n}\ncatch (e)\n{\n\tinfo \"caught on line \" + e.lineNo;\n}\ny = small * 2 + big * 2;\nreturn y;",
        (0, 2, 0),
    );
    let outcome = last(&observed);
    assert!(outcome.contains("caught on line 5"), "{observed:?}");
    assert!(outcome.contains("line: 11"), "{observed:?}");
}

#[test]
fn remainder_by_zero_or_less_and_division_follow_the_value_rules() {
    let observed = check(
        "a = 7;\nzero = 0;\nm = zero - 7;\nresults = List();\nresults.add(a % (zero - 3) + 1);\nresults.add(m % 3 + 0);\nresults.add(a / 2 + 1);\ntry\n{\n\tresults.add(a % (zero * 5) + 1);\n}\ncatch (e)\n{\n\tresults.add(e);\n}\nreturn results;",
        (3, 1, 0),
    );
    assert!(last(&observed).contains("finished"), "{observed:?}");
}

#[test]
fn compound_assignments_compute_like_the_ordinary_ops() {
    let observed = check(
        "x = 10;\nb = 3;\nx += b * 2;\nx -= 1;\nx *= b + 1;\nx %= 7 + b;\nx = x + b;\nx /= 2;\ntext = \"n\";\ntext += b + 1;\ntext = text + b * 2;\nreturn x + \" \" + text;",
        (0, 7, 0),
    );
    assert!(last(&observed).contains("n46"), "{observed:?}");
}

#[test]
fn conditions_branch_like_the_ordinary_jumps() {
    let observed = check(
        "hits = List();\nfor each v in {1, 2, 3, 4, 5, 6, \"7\", null}\n{\n\ttry\n\t{\n\t\tif(v % 2 == 0)\n\t\t{\n\t\t\thits.add(\"even \" + v);\n\t\t}\n\t\telse if(v * 3 > 10)\n\t\t{\n\t\t\thits.add(\"big \" + v);\n\t\t}\n\t\telse if(v < 2)\n\t\t{\n\t\t\thits.add(\"small \" + v);\n\t\t}\n\t\telse\n\t\t{\n\t\t\thits.add(\"other \" + v);\n\t\t}\n\t}\n\tcatch (e)\n\t{\n\t\thits.add(\"error on line \" + e.lineNo + \": \" + e);\n\t}\n}\nreturn hits;",
        (0, 0, 3),
    );
    assert!(last(&observed).contains("small 1"), "{observed:?}");
}

#[test]
fn comparisons_as_values_push_booleans() {
    let observed = check(
        "id = 6;\neven = id % 2 == 0;\nflags = {id % 4 == 2, id * 2 < 3 + id, id - 1 >= id, id != id + 0};\ninfo flags;\nreturn even;",
        (4, 1, 0),
    );
    assert!(last(&observed).contains("Boolean(true)"), "{observed:?}");
}

#[test]
fn expressions_deeper_than_the_fast_stack_stay_ordinary() {
    let observed = check(
        "a = 1;\nx = a - (a - (a - (a - (a - (a - (a - (a - (a - (a - 5)))))))));\ny = a + 2 * (a + 2 * (a + 2 * (a + 2)));\nreturn x + y;",
        // `x` is too deep as a whole; its inner part within the depth gets a push.
        (1, 1, 0),
    );
    assert!(last(&observed).contains("Long(36)"), "{observed:?}");
}

#[test]
fn inputs_and_clock_names_are_read_as_the_ordinary_code_reads_them() {
    // `now` is never assigned: it asks the host for the time; the fast path skips it.
    let observed = check(
        "try\n{\n\ty = missing * 2 + 1;\n}\ncatch (e)\n{\n\tinfo e;\n}\ntry\n{\n\tx = now * 2 + 1;\n}\ncatch (e)\n{\n\tinfo e;\n}\nreturn 1;",
        (0, 1, 0),
    );
    assert!(
        observed.iter().any(|line| line.contains("effect")),
        "{observed:?}"
    );
}

#[test]
fn the_statement_limit_stops_at_exactly_the_limit_on_fused_statements() {
    let source = "total = 0;\nfor each a in {1, 2, 3}\n{\n\tfor each b in {1, 2}\n\t{\n\t\ttotal = total + a * b;\n\t\tcount = total % 5 + 1;\n\t\tif(count > 2)\n\t\t{\n\t\t\ttotal += 1;\n\t\t}\n\t}\n}\nreturn total;";
    for max_statements in 1..45 {
        let limits = Limits {
            max_statements,
            ..Limits::default()
        };
        let observed = same_both_ways(source, limits);
        if max_statements < 20 {
            assert!(last(&observed).contains("Statements"), "{observed:?}");
        }
    }
}

#[test]
fn runs_yield_after_the_same_statements_with_fused_statements() {
    let source = "total = 0;\nfor each a in {1, 2, 3, 4, 5}\n{\n\ttotal = total + a * 2;\n\ttotal -= a;\n}\nreturn total;";
    for statements_per_slice in 1..6 {
        let limits = Limits {
            statements_per_slice,
            ..Limits::default()
        };
        let observed = same_both_ways(source, limits);
        assert!(
            observed.iter().any(|line| line.starts_with("yield")),
            "{observed:?}"
        );
        assert!(last(&observed).contains("Long(15)"), "{observed:?}");
    }
}

fn is_slot_call(op: &Op) -> bool {
    matches!(op, Op::CallMethodSlot { .. })
}

fn is_discarding_slot_call(op: &Op) -> bool {
    matches!(op, Op::CallMethodSlot { discard: true, .. })
}

#[test]
fn methods_on_variables_give_the_ordinary_results_and_errors() {
    // Every inlined method on receivers of the expected kind and of other kinds (the
    // built-in then runs, or fails with its own message and line).
    let source = "values = {Map(), List(), \"item77\", null, 5, {\"k\": 1}};\nresults = List();\nfor each v in values\n{\n\ttry\n\t{\n\t\tv.put(\"k\", 2);\n\t\tresults.add(v.get(\"k\"));\n\t}\n\tcatch (e)\n\t{\n\t\tresults.add(\"put/get line \" + e.lineNo + \": \" + e);\n\t}\n\ttry\n\t{\n\t\tv.add(3);\n\t\tresults.add(v.size());\n\t}\n\tcatch (e)\n\t{\n\t\tresults.add(\"add/size line \" + e.lineNo + \": \" + e);\n\t}\n\ttry\n\t{\n\t\tresults.add(v.length() + \" \" + v.contains(\"77\") + \" \" + v.startsWith(\"it\") + \" \" + v.endsWith(7));\n\t}\n\tcatch (e)\n\t{\n\t\tresults.add(\"text line \" + e.lineNo + \": \" + e);\n\t}\n\tresults.add(v.toString());\n}\nreturn results;";
    let fast = compiled(source, FastPaths::On);
    assert_eq!(count_ops(&fast, is_slot_call), 16, "{}", fast.disassemble());
    assert_eq!(count_ops(&fast, is_discarding_slot_call), 9);
    let observed = same_both_ways(source, Limits::default());
    assert!(last(&observed).contains("item77"), "{observed:?}");
}

#[test]
fn a_discarded_call_keeps_the_value_a_jump_brings() {
    // The statement's value comes from `ifnull`'s jump or from the call: the call cannot
    // drop it.
    let source = "m = {\"a\": 1};\nn = null;\nlist = List();\nifnull(n, list.add(1));\nifnull(m, list.add(2));\nlist.add(m.get(\"a\"));\nreturn list;";
    let fast = compiled(source, FastPaths::On);
    assert_eq!(
        count_ops(&fast, is_discarding_slot_call),
        1,
        "{}",
        fast.disassemble()
    );
    let observed = same_both_ways(source, Limits::default());
    assert!(last(&observed).contains("finished"), "{observed:?}");
}

#[test]
fn collection_limits_stop_fused_calls_like_ordinary_ones() {
    let source = "list = List();\nm = Map();\nfor each i in {1, 2, 3, 4, 5, 6, 7, 8}\n{\n\tlist.add(i * 2 + 1);\n\tm.put(\"k\" + i, i);\n}\nreturn list.size();";
    for max_collection_elements in 1..20 {
        let limits = Limits {
            max_collection_elements,
            ..Limits::default()
        };
        same_both_ways(source, limits);
    }
}
