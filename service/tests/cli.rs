//! The `passerelle` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn passerelle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle")).args(args).output().expect("run passerelle")
}

/// A fresh folder, removed when the returned guard is dropped.
fn scratch(name: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("passerelle-cli-{name}-")).tempdir().unwrap()
}

/// A copy of the embedded ROME export in a fresh folder (removed when dropped).
fn data_copy(name: &str) -> TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/rome-v460");
    let dir = scratch(name);
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

#[test]
fn recommend_prints_json_with_the_closest_mobility() {
    let out =
        passerelle(&["recommend", "--occupation", "I1315", "--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let codes: Vec<&str> = json["answer"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["occupation"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 5);
    assert!(codes.contains(&"I1311"), "{codes:?}");
    assert!(json["data_source"].as_str().unwrap().contains("France Travail"));
}

/// `curated_order` is a number in every JSON the CLI writes: the position in France
/// Travail's list, or 0 when the move is not listed (as gRPC's `Pathway.curated_order`),
/// never `null`; the same in `score`'s JSON Lines and CSV.
#[test]
fn curated_order_is_zero_not_null_for_moves_the_curated_list_does_not_hold() {
    use passerelle_model::engine::{ProfileQuery, RecommendQuery};
    let engine = passerelle_model::embedded::engine().expect("embedded engine");
    let query = RecommendQuery {
        profile: ProfileQuery { occupation_code: Some("I1315".into()), ..Default::default() },
        top_k: Some(40),
        target_set: "ALL".into(),
        ..Default::default()
    };
    let want: Vec<u64> =
        engine.recommend(&query).unwrap().results.iter().map(|r| u64::from(r.curated_order.unwrap_or(0))).collect();
    assert_eq!(want[0], 1);
    assert!(want.contains(&0), "some of the 40 moves are the model's alone: {want:?}");
    let orders = |results: &serde_json::Value| -> Vec<u64> {
        let results = results.as_array().expect("results");
        results.iter().map(|r| r["curated_order"].as_u64().expect("a number, never null")).collect()
    };

    let out = passerelle(&["recommend", "--occupation", "I1315", "--top-k", "40"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(orders(&json["answer"]["results"]), want);

    let dir = scratch("curated");
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n").unwrap();
    let input = input.to_str().unwrap();
    let out = passerelle(&["score", "--input", input, "--output", "-", "--output-format", "jsonl", "--top-k", "40"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(orders(&record["answer"]["results"]), want);
    let out = passerelle(&["score", "--input", input, "--output", "-", "--output-format", "csv", "--top-k", "40"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let column = rows.headers().unwrap().iter().position(|h| h == "curated_order").expect("column");
    let cells: Vec<u64> = rows.records().map(|r| r.unwrap()[column].parse().expect("a number, never empty")).collect();
    assert_eq!(cells, want);
}

#[test]
fn recommend_with_unknown_code_fails_naming_the_field() {
    let out = passerelle(&["recommend", "--occupation", "Z0000"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --occupation: unknown ROME code `Z0000`"
    );
}

#[test]
fn train_on_a_malformed_export_names_file_and_line() {
    let copy = data_copy("bad");
    let dir = copy.path();
    let path = dir.join("unix_rubrique_mobilite_v460_utf8.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replacen("\"A1101\",\"A1102\",\"6\"", "\"A1101\",\"A1102\",\"six\"", 1);
    std::fs::write(&path, text).unwrap();
    let out = passerelle(&["train", "--data", dir.to_str().unwrap(), "--no-eval", "--out", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: unix_rubrique_mobilite_v460_utf8.csv: line 2: numero_ordre `six` is not a positive integer"
    );
}

#[test]
fn train_refuses_an_output_it_cannot_write_before_training() {
    // Before this check, a missing directory was found after a minute of training; stderr
    // holds the error alone, so nothing was trained.
    let tmp = scratch("train-out");
    let missing = tmp.path().join("no-such-folder");
    let out = passerelle(&["train", "--out", missing.join("m.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "error: cannot write {}: directory {} does not exist",
            missing.join("m.json").display(),
            missing.display()
        )
    );
    let dir = tmp.path();
    let out = passerelle(&["train", "--out", dir.join("x.json").to_str().unwrap(), "--card", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("error: cannot write {}: it is a directory", dir.display())
    );
    assert!(!dir.join("x.json").exists(), "refused before anything is written");
}

#[test]
fn train_refuses_a_card_that_is_the_artifact_before_training() {
    // `--card` naming the `--out` file trained for a minute, wrote the artifact, then the
    // card over it ("wrote m.json and m.json", exit code 0): the artifact was lost.
    let tmp = scratch("train-card");
    let dir = tmp.path();
    let artifact = dir.join("m.json");
    std::fs::write(dir.join("old.json"), "kept").unwrap();
    std::fs::hard_link(dir.join("old.json"), dir.join("link.json")).unwrap();
    for (out, card) in [
        (artifact.clone(), artifact.clone()),
        (artifact.clone(), dir.join(".").join("m.json")),
        (dir.join("old.json"), dir.join("link.json")),
    ] {
        let run = passerelle(&["train", "--no-eval", "--out", out.to_str().unwrap(), "--card", card.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(1), "{out:?} {card:?}");
        assert_eq!(
            String::from_utf8_lossy(&run.stderr).trim(),
            format!(
                "error: cannot write {}: --card names the artifact's file (--out): the card would replace the \
                 artifact; give the card another path (by default it is the artifact path with `.card.json`)",
                card.display()
            )
        );
    }
    assert!(!artifact.exists(), "refused before anything is written");
    assert_eq!(std::fs::read_to_string(dir.join("old.json")).unwrap(), "kept");
}

#[test]
fn train_checks_the_boosted_trees_flags_even_without_trees() {
    // With `--boost-rounds 0` (the default) these were never checked: training ran past a
    // `--boost-learning-rate NaN`, as `--embedding-dim` is checked with no embedding.
    for (flag, value, want) in [
        ("--boost-learning-rate", "NaN", "`boost_learning_rate`: NaN not in (0, 1]"),
        ("--boost-learning-rate", "-1", "`boost_learning_rate`: -1 not in (0, 1]"),
        ("--boost-learning-rate", "0", "`boost_learning_rate`: 0 not in (0, 1]"),
        ("--boost-subsample", "2", "`boost_subsample`: 2 not in (0, 1]"),
    ] {
        let run = passerelle(&["train", "--no-eval", "--out", "/dev/null", flag, value]);
        assert_eq!(run.status.code(), Some(1), "{flag} {value}");
        assert_eq!(
            String::from_utf8_lossy(&run.stderr).trim(),
            format!("error: invalid hyperparameter {want}"),
            "{flag} {value}"
        );
    }
}

#[test]
fn train_then_serve_answers_from_a_user_supplied_export() {
    // A newer export has the same layout: here, a copy where one source lost its mobility rows
    // (new occupations have none) is still trained on and ranked.
    let copy = data_copy("ok");
    let dir = copy.path();
    let path = dir.join("unix_rubrique_mobilite_v460_utf8.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("\"I1315\"")).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let model = dir.join("model.json");
    let out = passerelle(&["train", "--data", dir.to_str().unwrap(), "--no-eval", "--out", model.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.card.json")).unwrap()).unwrap();
    assert_eq!(card["data"]["mobilities"], 14_912 - 9, "I1315 has 9 curated mobilities in v460");
    assert_eq!(card["model_kind"], "linfa-logistic cascade (2 stages)");

    let out = passerelle(&[
        "recommend",
        "--occupation",
        "I1315",
        "--data",
        dir.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--top-k",
        "3",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["answer"]["results"].as_array().unwrap().len(), 3);
    assert_eq!(json["model"]["same_data_as_training"], true);
    // Trained with --no-eval: no calibration, and the answer says so.
    assert_eq!(json["model"]["calibrated"], false);
    assert!(json["probability_basis"].as_str().unwrap().contains("UNCALIBRATED"));

    std::fs::write(&model, "{ not json").unwrap();
    let out = passerelle(&["recommend", "--occupation", "I1315", "--model", model.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(&format!(
            "error: model artifact refused: {}: not a Passerelle model artifact",
            model.display()
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_on_a_busy_port_says_so() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = passerelle(&["serve", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error: cannot listen on {addr}: ")), "{stderr}");
}

#[test]
fn top_k_out_of_range_is_refused_by_the_cli() {
    let out = passerelle(&["recommend", "--occupation", "I1315", "--top-k", "101"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("101 is not in 1..=100"));
    let out = passerelle(&["recommend", "--occupation", "I1315", "--max-other-skills", "1001"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--max-other-skills") && stderr.contains("1001 is not in 0..=1000"), "{stderr}");
}

#[test]
fn a_negative_number_given_to_the_search_text_is_that_text() {
    // Clap alone said "unexpected argument '-5' found": no flag of this CLI looks like a
    // number, so `-5` is the text, as with `search -- -5`.
    let out = passerelle(&["search", "-5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["occupations"], serde_json::json!([]), "no occupation title holds the word 5");
    assert_eq!(out.stdout, passerelle(&["search", "--", "-5"]).stdout);
}

#[test]
fn a_search_text_starting_with_a_dash_is_that_text() {
    // Clap alone said "unexpected argument '-5' found … tip: to pass '-5' as a value, use
    // '-- -5'": only a purely numeric text like `-5` was taken as the text.
    let dashed = passerelle(&["search", "-5G"]);
    assert!(dashed.status.success(), "{}", String::from_utf8_lossy(&dashed.stderr));
    let json: serde_json::Value = serde_json::from_slice(&dashed.stdout).unwrap();
    let codes: Vec<&str> =
        json["occupations"].as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"I1312"), "technicien réseaux mobiles 4G-5G: {codes:?}");
    assert_eq!(dashed.stdout, passerelle(&["search", "5G"]).stdout);
    assert_eq!(dashed.stdout, passerelle(&["search", "--", "-5G"]).stdout);
    // The flags after it are still flags.
    let out = passerelle(&["search", "-5G", "--top-k", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["occupations"].as_array().unwrap().len(), 1);
    assert_eq!(json["occupations"][0]["code"], "I1312");
}

/// Help texts are the doc comments: a rustdoc link (`[`search_text`]`) showed in `search --help`.
#[test]
fn help_texts_carry_no_rustdoc_links() {
    for command in
        ["serve", "train", "eval", "recommend", "plan", "explore", "search", "score", "cohort", "gen-profiles"]
    {
        let out = passerelle(&[command, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(!help.contains("[`"), "{command} --help: {help}");
    }
}

#[test]
fn negative_numbers_are_refused_naming_their_flag() {
    // Clap alone took `-1` for an unknown flag ("unexpected argument '-1' found") and never
    // named the option it was given to.
    for (flag, value, reason) in
        [("--max-other-skills", "-1", "-1 is not in 0..=1000"), ("--top-k", "-1", "-1 is not in 1..=100")]
    {
        let out = passerelle(&["recommend", "--occupation", "I1315", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} ")) && stderr.contains(reason),
            "{stderr}"
        );
        let out = passerelle(&["score", "--input", "-", "--input-format", "jsonl", "--output", "-", flag, value]);
        assert_eq!(out.status.code(), Some(2), "score {flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} ")) && stderr.contains(reason),
            "{stderr}"
        );
    }
    // Every command's options, not only recommend's and score's.
    for (args, flag, reason) in [
        (
            &["cohort", "--input", "-", "--input-format", "csv", "--moves-per-person", "-1"][..],
            "--moves-per-person",
            "-1 is not in 1..=100",
        ),
        (&["search", "fibre", "--top-k", "-1"][..], "--top-k", "-1 is not in 1..=50"),
        (&["gen-profiles", "--count", "-1"][..], "--count", "-1 is not in 0..=10000000"),
        (&["gen-profiles", "--seed", "-1"][..], "--seed", "-1 is not in 0..=18446744073709551615"),
        (&["serve", "--max-concurrent-requests", "-1"][..], "--max-concurrent-requests", "-1 is not in 1..=100000"),
    ] {
        let out = passerelle(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("invalid value '-1' for '{flag} ")) && stderr.contains(reason), "{stderr}");
    }
    let out = passerelle(&["explore", "--occupation", "I1315", "--max-hours", "-5"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "error: invalid query: --max-hours: -5 is out of range (0, 10000] hours");
    let out = passerelle(&["recommend", "--occupation", "I1315", "--tension-weight", "-0.3"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "error: invalid query: --tension-weight: -0.3 is out of range 0..=1");
}

#[test]
fn eval_writes_every_held_out_ranking_as_csv() {
    let dir = scratch("eval");
    let csv = dir.path().join("rankings.csv");
    let out = passerelle(&["eval", "--folds", "2", "--rankings", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("2-fold cross-validation grouped by source occupation"), "{report}");
    assert!(report.contains("ROC-AUC") && report.contains("IDF cosine baseline"), "{report}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source_code,rank,target_code,score"));
    // Every source ranks every other occupation: 1,584 × 1,583 rows.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1584 * 1583);
    let first: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(first[1], "1");
    let second: Vec<&str> = rows[1].split(',').collect();
    assert_eq!((second[0], second[1]), (first[0], "2"));
    // The score is the fold model's ranking score: finite, never increasing down a
    // source's ranking (the 50 re-scored candidates carry the reranker's offset of 100).
    let scores: Vec<f64> = rows[..1583].iter().map(|r| r.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert!(scores.iter().all(|s| s.is_finite()));
    assert!(scores.windows(2).all(|w| w[1] <= w[0]));
    assert!(scores[49] > 50.0 && scores[50] < 50.0, "{} {}", scores[49], scores[50]);
}

#[test]
fn search_prints_occupations_and_skills_as_json() {
    let out = passerelle(&["search", "monteuse raccordeuse FTTH", "--top-k", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let best = &json["occupations"][0];
    assert_eq!(best["code"], "I1315");
    assert_eq!(best["matched"], "Monteur raccordeur / Monteuse raccordeuse fibre optique");
    assert_eq!(json["occupations"].as_array().unwrap().len(), 2);
    let out = passerelle(&["search", "habilitation electrique", "--skills", "--top-k", "1"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        (json["skills"][0]["code"].as_u64(), json["skills"][0]["kind"].as_str()),
        (Some(512501), Some("certification"))
    );
}

/// The CLI named request fields (`profile.item_codes[1]`), which no option is called.
#[test]
fn query_errors_name_the_option_and_every_unknown_code() {
    let out = passerelle(&["recommend", "--occupation", "Z0000", "--item", "100023", "--item", "12x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --occupation: unknown ROME code `Z0000`; --item (value 2): unknown item code `12x`"
    );
    let out = passerelle(&["recommend"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --occupation / --item / --job-title: the profile is empty (give an occupation code or \
         item codes, and do not remove every item)"
    );
    let out = passerelle(&["recommend", "--occupation", "I1315", "--tension-weight", "2"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --tension-weight: 2 is out of range 0..=1"
    );
}

#[test]
fn search_and_region_errors_name_the_field() {
    let out = passerelle(&["search", "de la"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: <TEXT>: no searchable word in `de la`"
    );
    let out = passerelle(&["recommend", "--occupation", "I1315", "--region", "99"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --region: `99` is not an INSEE region code covered by the DARES tension data"
    );
    // The search text is named as clap names it, not by the request field `query`.
    let out = passerelle(&["search", ""]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "error: invalid query: <TEXT>: empty text");
}

#[test]
fn a_model_card_given_as_the_model_is_named_as_such() {
    // The card has a `format_version` too: it passed the first check and was then refused
    // as `malformed artifact: invalid type: string "Passerelle transition model", expected
    // struct TransitionModel at line 469 column 40`.
    let card = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/model/transition-model.card.json");
    let out = passerelle(&["recommend", "--occupation", "I1315", "--model", card]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("transition-model.card.json: this is a model card"), "{stderr}");
    assert!(stderr.contains("not the artifact"), "{stderr}");
}

/// `explore`'s default target set differs from `ExplorePathways`'s; the help says both.
#[test]
fn explore_help_states_its_default_target_set_and_the_rpc_s() {
    let out = passerelle(&["explore", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains(
            "Default here: DIGITAL_INFRASTRUCTURE (the gRPC ExplorePathways, given no set, explores into ALL) \
             [default: DIGITAL_INFRASTRUCTURE]"
        ),
        "{help}"
    );
}

/// `recommend … | head -1` (and `search`, `plan`, `explore`): the reader stops early; that
/// is a normal stop (exit code 0, no message), as for the batch commands. It was
/// `error: cannot write <stdout>: Broken pipe (os error 32)` and exit code 1.
#[test]
fn a_closed_standard_output_is_a_quiet_early_stop() {
    let runs: [&[&str]; 4] = [
        &["recommend", "--occupation", "I1315"],
        &["search", "fibre"],
        &["plan", "--occupation", "I1315", "--target", "F1623"],
        &["explore", "--occupation", "I1315"],
    ];
    for args in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command writes (it loads the data first).
        drop(child.stdout.take());
        let run = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!((run.status.code(), stderr.as_ref()), (Some(0), ""), "{}", args[0]);
    }
}
