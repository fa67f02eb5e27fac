//! Determinism: a run recorded once replays from its journal (the cassette) to the same
//! outcome, with the same effects in the same order. The workflow engine relies on this.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicI64, Ordering};

use trestle_deluge::{Effect, EffectResult, Limits, OwnedValue, RunContext, compile_source};
use trestle_functions::cassette::{Cassette, RecordingPerformer, ReplayPerformer};
use trestle_functions::{
    EffectPerformer, FunctionsError, PerformFuture, run_to_completion, start_run,
};

/// A stand-in for the outside world that answers differently every time it is asked,
/// so a replay can only match if it really uses the journal.
#[derive(Default)]
struct ChangingWorld {
    counter: AtomicI64,
}

impl EffectPerformer for ChangingWorld {
    fn perform<'a>(&'a self, effect: &'a Effect) -> PerformFuture<'a> {
        let tick = self.counter.fetch_add(1, Ordering::SeqCst);
        let result = match effect {
            Effect::Random { low, .. } => EffectResult::Value(OwnedValue::Long(low + tick)),
            Effect::CurrentTime => EffectResult::Value(OwnedValue::DateTime(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                    .unwrap()
                    .and_hms_opt(9, 0, u32::try_from(tick).unwrap())
                    .unwrap(),
            )),
            Effect::InvokeUrl(_) if tick % 2 == 1 => {
                EffectResult::Error("socket timeout".to_owned())
            }
            Effect::InvokeUrl(_) => EffectResult::Value(OwnedValue::Map(
                [("tick".to_owned(), OwnedValue::Long(tick))]
                    .into_iter()
                    .collect(),
            )),
            _ => EffectResult::Value(OwnedValue::Null),
        };
        Box::pin(async move { Ok::<_, FunctionsError>(result) })
    }
}

const SCRIPT: &str = r#"
results = List();
for each attempt in {1, 2, 3, 4}
{
	roll = randomNumber(1, 100);
	try
	{
		response = invokeurl
		[
			url :"https://api.example.com/items/" + roll
			type :GET
		];
		results.add(response.get("tick"));
	}
	catch (e)
	{
		results.add("failed: " + e);
	}
}
info "at " + zoho.currenttime;
info results;
return results;
"#;

fn new_run() -> trestle_deluge::Run {
    let program = compile_source(SCRIPT).unwrap();
    start_run(
        program,
        Vec::new(),
        Limits::default(),
        RunContext::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_recorded_run_replays_to_the_same_outcome() {
    let recorder = RecordingPerformer::new(ChangingWorld::default());
    let original = run_to_completion(new_run(), &recorder).await.unwrap();
    let cassette = recorder.cassette();
    assert_eq!(
        cassette.entries.len(),
        9,
        "4 random + 4 invokeurl + 1 clock"
    );

    // Through a file, as `trestle deluge run --record/--replay` does.
    let folder = std::env::temp_dir().join(format!("trestle-replay-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("journal.json");
    cassette.save(&path).unwrap();
    let journal = Cassette::load(&path).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();

    let replay = ReplayPerformer::new(journal);
    let replayed = run_to_completion(new_run(), &replay).await.unwrap();
    assert_eq!(replayed, original);
    assert_eq!(replay.unused_entries(), 0);
    assert!(
        original.info_lines[0].starts_with("at 01-Mar-2026 09:00:"),
        "{:?}",
        original.info_lines
    );
    assert!(
        original.info_lines[1].contains("failed: socket timeout"),
        "{:?}",
        original.info_lines
    );

    // The live world answers differently now, so a second live run differs: the replay
    // really came from the journal.
    let live_again = run_to_completion(
        new_run(),
        &ChangingWorld {
            counter: AtomicI64::new(50),
        },
    )
    .await
    .unwrap();
    assert_ne!(live_again, original);
}

#[tokio::test]
async fn a_replay_that_runs_out_of_entries_says_which_effect() {
    let recorder = RecordingPerformer::new(ChangingWorld::default());
    run_to_completion(new_run(), &recorder).await.unwrap();
    let mut journal = recorder.cassette();
    journal.entries.truncate(3);
    let replay = ReplayPerformer::new(journal);
    let error = run_to_completion(new_run(), &replay).await.unwrap_err();
    assert_eq!(error.code(), "CASSETTE_EXHAUSTED");
    assert!(error.to_string().contains("entry 4"), "{error}");
    assert!(error.to_string().contains("invoke_url"), "{error}");
}

#[tokio::test]
async fn a_script_failure_keeps_its_info_lines_and_location() {
    let program = compile_source("info \"before\";\nx = 1 / 0;\n").unwrap();
    let run = start_run(
        program,
        Vec::new(),
        Limits::default(),
        RunContext::default(),
    )
    .unwrap();
    let error = run_to_completion(run, &ChangingWorld::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "DELUGE_DIVIDE_BY_ZERO");
    assert_eq!(error.info_lines(), ["before".to_owned()]);
    let FunctionsError::ScriptFailed { failure } = error else {
        panic!("expected a script failure");
    };
    assert_eq!(failure.error.location().unwrap().line, 2);
}

#[tokio::test]
async fn the_wall_clock_stops_a_long_run() {
    let program = compile_source(
        "n = 0;\nfor each a in \"\".leftPad(1000).toList(\"\")\n{\n\tfor each b in \"\".leftPad(1000).toList(\"\")\n\t{\n\t\tn = n + 1;\n\t}\n}\n",
    )
    .unwrap();
    let limits = Limits {
        max_statements: u64::MAX,
        max_wall_time_ms: 1,
        statements_per_slice: 1_000,
        ..Limits::default()
    };
    let run = start_run(program, Vec::new(), limits, RunContext::default()).unwrap();
    let error = run_to_completion(run, &ChangingWorld::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "DELUGE_WALL_TIME_LIMIT");
}
