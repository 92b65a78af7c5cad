//! The batch commands through the real `passerelle` binary: `score` round trips in JSON Lines
//! and CSV with exact ids, order and error records, `gen-profiles` → `score`, and `cohort`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

use passerelle_model::engine::{ProfileQuery, RecommendQuery};
use serde_json::Value;
use tempfile::TempDir;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_passerelle"))
}

/// Runs `passerelle score --input INPUT --output OUTPUT EXTRA…` to the end.
fn score(input: &std::path::Path, output: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin().args(["score", "--input"]).arg(input).arg("--output").arg(output).args(extra).output().unwrap()
}

/// A fresh folder for one test's files, removed when the returned guard is dropped.
fn scratch(name: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("passerelle-batch-{name}-")).tempdir().unwrap()
}

fn engine() -> passerelle_model::engine::Engine {
    passerelle_model::embedded::engine().expect("embedded engine")
}

fn query(occupation: Option<&str>, items: &[&str], removed: &[&str]) -> RecommendQuery {
    RecommendQuery {
        profile: ProfileQuery {
            occupation_code: occupation.map(str::to_string),
            item_codes: items.iter().map(|s| s.to_string()).collect(),
            removed_item_codes: removed.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        top_k: Some(3),
        target_set: "DIGITAL_INFRASTRUCTURE".into(),
        ..Default::default()
    }
}

#[test]
fn jsonl_round_trip_keeps_ids_order_and_reports_two_bad_lines() {
    let tmp = scratch("jsonl");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    // Line 3 is not JSON; line 5 names an unknown ROME code; line 4 is blank (skipped).
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n\
         {\"id\":\"b\",\"occupation_code\":\"F1602\",\"removed_item_codes\":[\"400772\"]}\n\
         {\"id\":\"c\",\"occupation_code\":\n\
         \n\
         {\"id\":\"d\",\"occupation_code\":\"Z9999\"}\n\
         {\"id\":\"e\",\"item_codes\":[\"400772\"]}\n",
    )
    .unwrap();
    let output = dir.join("out.jsonl");
    let run = score(&input, &output, &["--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "3", "--skill-labels"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scored 5 profiles (3 ok, 2 failed)"), "{stderr}");
    assert!(stderr.contains("2 of 5 records failed"), "{stderr}");

    let text = std::fs::read_to_string(&output).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<Value> = records.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [Value::from("a"), "b".into(), Value::Null, "d".into(), "e".into()]);
    let lines: Vec<u64> = records.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 5, 6]);
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "error", "error", "ok"]);
    assert_eq!(records[2]["error"]["field"], "line");
    // Named at the file's line 3, not serde's "line 1" of the record.
    assert_eq!(records[2]["error"]["reason"], "malformed JSON at line 3, column 28: EOF while parsing a value");
    assert_eq!(records[3]["error"]["field"], "occupation_code");
    assert_eq!(records[3]["error"]["reason"], "occupation_code: unknown ROME code `Z9999`");

    // Valid records carry exactly the engine's answer.
    let engine = engine();
    let expected = [
        (0, query(Some("I1315"), &[], &[])),
        (1, query(Some("F1602"), &[], &["400772"])),
        (4, query(None, &["400772"], &[])),
    ];
    for (i, q) in expected {
        let want = serde_json::to_value(engine.recommend(&q).unwrap()).unwrap();
        assert_eq!(records[i]["answer"], want, "record {i}");
    }
    assert_eq!(records[0]["answer"]["results"].as_array().unwrap().len(), 3);

    let provenance = std::fs::read_to_string(dir.join("out.jsonl.provenance.json")).unwrap();
    let provenance: Value = serde_json::from_str(&provenance).unwrap();
    assert!(provenance["data_source"].as_str().unwrap().contains("France Travail"));
    assert_eq!(provenance["summary"]["failed"], 2);
    assert_eq!(provenance["options"]["top_k"], 3);
}

#[test]
fn csv_round_trip_keeps_ids_order_and_reports_two_bad_lines() {
    let tmp = scratch("csv");
    let dir = tmp.path();
    let input = dir.join("in.csv");
    // Line 3 has no id; line 4 has an item code that is not a number.
    std::fs::write(
        &input,
        "id,occupation_code,item_codes,removed_item_codes\n\
         a,I1315,,\n\
         ,F1602,,\n\
         c,I1315,12x,\n\
         d,F1602,,400772\n",
    )
    .unwrap();
    let output = dir.join("out.csv");
    let run = score(&input, &output, &["--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "2"]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));

    let mut reader = csv::Reader::from_path(&output).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[..4], ["id", "line", "status", "rank"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let keys: Vec<(&str, &str, &str, &str)> = rows.iter().map(|r| (&r[0], &r[1], &r[2], &r[3])).collect();
    assert_eq!(
        keys,
        [
            ("a", "2", "ok", "1"),
            ("a", "2", "ok", "2"),
            ("", "3", "error", ""),
            ("c", "4", "error", ""),
            ("d", "5", "ok", "1"),
            ("d", "5", "ok", "2"),
        ]
    );
    assert_eq!(&rows[2][17], "id");
    assert_eq!(&rows[3][17], "item_codes[0]");
    assert_eq!(&rows[3][18], "item_codes[0]: unknown item code `12x`");

    let engine = engine();
    let want = engine.recommend(&RecommendQuery { top_k: Some(2), ..query(Some("F1602"), &[], &["400772"]) }).unwrap();
    for (row, r) in rows[4..].iter().zip(&want.results) {
        assert_eq!(&row[4], r.occupation.code);
        assert_eq!(row[6].parse::<f64>().unwrap(), r.probability);
        let missing: Vec<String> = r.missing_core.iter().map(|s| s.code.to_string()).collect();
        assert_eq!(&row[11], missing.join(";"));
        // The 10 most specific optional skills (the default), and how many there are in all.
        let other: Vec<String> = r.missing_other.iter().map(|s| s.code.to_string()).collect();
        assert_eq!(other.len(), r.missing_other_total.min(10));
        assert_eq!(&row[13], other.join(";"));
        assert_eq!(row[14].parse::<usize>().unwrap(), r.missing_other_total);
    }
}

#[test]
fn max_other_skills_cuts_the_optional_gap_counts_it_all_and_is_in_the_provenance() {
    let tmp = scratch("max-other");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n").unwrap();
    let output = dir.join("out.jsonl");
    let run = score(
        &input,
        &output,
        &["--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "3", "--max-other-skills", "2", "--skill-labels"],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let record: Value = serde_json::from_str(std::fs::read_to_string(&output).unwrap().trim_end()).unwrap();
    let want =
        engine().recommend(&RecommendQuery { max_other_skills: Some(2), ..query(Some("I1315"), &[], &[]) }).unwrap();
    assert_eq!(record["answer"], serde_json::to_value(&want).unwrap());
    // I1311, the first curated move of I1315, lacks 23 optional skills: 2 listed, 23 counted.
    let first = &record["answer"]["results"][0];
    assert_eq!(first["occupation"]["code"], "I1311");
    assert_eq!(first["missing_other"].as_array().unwrap().len(), 2);
    assert_eq!(first["missing_other_total"], 23);
    // The output depends on the option, so the provenance records it.
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.jsonl.provenance.json")).unwrap()).unwrap();
    assert_eq!(provenance["options"]["max_other_skills"], 2);
}

#[test]
fn generated_profiles_are_all_scored_in_order() {
    let tmp = scratch("gen");
    let dir = tmp.path();
    let profiles = dir.join("profiles.csv");
    let run = bin().args(["gen-profiles", "--count", "30", "--seed", "5", "--output"]).arg(&profiles).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let output = dir.join("out.jsonl");
    let run = score(&profiles, &output, &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&output).unwrap();
    let ids: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect();
    let want: Vec<String> = (1..=30).map(|i| format!("p{i:07}")).collect();
    assert_eq!(ids, want);
    assert!(text.lines().all(|l| l.contains("\"status\":\"ok\"")));
    // Default JSON Lines detail: skills as code_ogr numbers, the same as the full answer's.
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let profile = std::fs::read_to_string(&profiles).unwrap();
    let row: Vec<&str> = profile.lines().nth(1).unwrap().split(',').collect();
    let split = |s: &str| s.split(';').filter(|c| !c.is_empty()).map(str::to_string).collect::<Vec<_>>();
    let want = engine()
        .recommend(&RecommendQuery {
            profile: ProfileQuery {
                occupation_code: Some(row[1].to_string()),
                item_codes: split(row[2]),
                removed_item_codes: split(row[3]),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    let result = &first["answer"]["results"][0];
    assert_eq!(result["occupation"]["code"], want.results[0].occupation.code.as_str());
    let codes: Vec<u64> = want.results[0].missing_core.iter().map(|s| u64::from(s.code)).collect();
    assert_eq!(result["missing_core"], serde_json::json!(codes));
    assert_eq!(result["probability"].as_f64().unwrap(), want.results[0].probability);
}

#[test]
fn cohort_command_reports_destinations_and_gaps_as_json_and_csv() {
    let tmp = scratch("cohort");
    let dir = tmp.path();
    let input = dir.join("cohort.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"1\",\"occupation_code\":\"I1315\"}\n{\"id\":\"2\",\"occupation_code\":\"I1315\"}\n{\"id\":\"3\",\"occupation_code\":\"I1315\",\"removed_item_codes\":[\"400772\"]}\n",
    )
    .unwrap();
    let run = bin()
        .args(["cohort", "--input"])
        .arg(&input)
        .args(["--target-set", "DIGITAL_INFRASTRUCTURE", "--moves-per-person", "3", "--format", "json"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["report"]["people"], 3);
    assert_eq!(report["refused"], 0);
    // Two identical profiles and a third one: every destination of the two reaches ≥ 2 people.
    let engine = engine();
    let same = engine.recommend(&query(Some("I1315"), &[], &[])).unwrap();
    let first = &report["report"]["occupations"][0];
    assert!(first["people"].as_u64().unwrap() >= 2);
    assert!(same.results.iter().any(|r| r.occupation.code == first["occupation"]["code"].as_str().unwrap()));
    // Certifications from the training planner, each figure with its basis.
    let certs = report["report"]["certifications"].as_array().expect("certification list");
    assert!(!certs.is_empty());
    assert!(report["certifications_note"].is_null());
    for c in certs {
        assert!(c["people"].as_u64().unwrap() >= 1 && c["moves"].as_u64().unwrap() >= c["people"].as_u64().unwrap());
        assert!(c["hours"]["basis"].is_string() && c["cost_eur"]["basis"].is_string(), "{c}");
    }

    let run = bin()
        .args(["cohort", "--input"])
        .arg(&input)
        .args(["--target-set", "DIGITAL_INFRASTRUCTURE", "--moves-per-person", "3", "--format", "csv"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with(
        "section,rank,code,label,kind,people,share,mean_probability,moves,expected_moves,hours,hours_basis,cost_eur,cost_basis\noccupation,1,"
    ));
    assert!(text.contains("\nmissing_core_skill,1,"));
    assert!(text.contains("\ncertification,1,"));

    // Without plans: no list, and the report says why.
    let run = bin()
        .args(["cohort", "--input"])
        .arg(&input)
        .args(["--target-set", "DIGITAL_INFRASTRUCTURE", "--moves-per-person", "3", "--no-certifications"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.contains("left empty rather than estimated") && !text.contains("realistic moves"), "{text}");
    // It was skipped, not missing: the embedded catalogue is always there.
    assert!(
        text.contains(
            "\nCertifications that unlock the most moves were not computed (--no-certifications): the section is left empty rather than estimated.\n"
        ),
        "{text}"
    );
    assert!(!text.contains("which was not loaded"), "{text}");
}

#[test]
fn cohort_counts_a_repeated_id_once_and_names_the_line_of_the_first() {
    let tmp = scratch("cohort-ids");
    let dir = tmp.path();
    let repeated = dir.join("repeated.csv");
    // Line 4 is refused (unknown code), so C counts at line 6; A of line 5 repeats line 2.
    std::fs::write(&repeated, "id,occupation_code\nA,I1315\nB,F1602\nC,Z9999\nA,F1602\nC,I1315\n").unwrap();
    let distinct = dir.join("distinct.csv");
    std::fs::write(&distinct, "id,occupation_code\nA,I1315\nB,F1602\nC,I1315\n").unwrap();
    let cohort = |input: &std::path::Path| {
        let run = bin()
            .args(["cohort", "--input"])
            .arg(input)
            .args(["--moves-per-person", "3", "--format", "json", "--no-certifications"])
            .output()
            .unwrap();
        (run.status.code(), serde_json::from_slice::<Value>(&run.stdout).unwrap())
    };
    let (code, report) = cohort(&repeated);
    let (distinct_code, expected) = cohort(&distinct);
    assert_eq!((code, distinct_code), (Some(2), Some(0)), "refused records: exit code 2");
    assert_eq!(report["report"], expected["report"]);
    assert_eq!(report["report"]["people"], 3);
    assert_eq!(report["refused"], 2);
    assert_eq!(
        report["refused_records"][1],
        serde_json::json!({
            "line": 5,
            "id": "A",
            "field": "id",
            "reason": "id: this id was already counted on line 2: a person is counted once; this record is left out"
        })
    );
    assert_eq!(report["refused_records"][0]["line"], 4);
}

/// The CSV report is the aggregate only; its refused records go to stderr, in the table's
/// words, and the exit status is 2 as for the other formats.
#[test]
fn cohort_csv_lists_the_refused_records_on_stderr() {
    let tmp = scratch("cohort-csv-refused");
    let dir = tmp.path();
    let input = dir.join("cohort.jsonl");
    // Line 3 is blank (skipped), line 4 names an unknown ROME code, line 5 is not JSON.
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n\
         {\"id\":\"b\",\"occupation_code\":\"F1602\"}\n\
         \n\
         {\"id\":\"c\\u202e\",\"occupation_code\":\"Z9999\"}\n\
         {\"id\":\"d\",\"occupation_code\":\n",
    )
    .unwrap();
    let good = dir.join("good.jsonl");
    std::fs::write(
        &good,
        "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n{\"id\":\"b\",\"occupation_code\":\"F1602\"}\n",
    )
    .unwrap();
    let cohort = |input: &std::path::Path| {
        bin()
            .args(["cohort", "--input"])
            .arg(input)
            .args(["--moves-per-person", "3", "--format", "csv", "--no-certifications"])
            .output()
            .unwrap()
    };
    let run = cohort(&input);
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            // The id is echoed: its U+202E override would turn the rest of the line around.
            "refused: line 4 (id c?): occupation_code: unknown ROME code `Z9999`",
            "refused: line 5 (id -): malformed JSON at line 5, column 28: EOF while parsing a value",
            "error: 2 of 4 records failed (see the error records listed on standard error)",
        ]
    );
    // The CSV is the aggregate of the two good records, nothing else.
    let clean = cohort(&good);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
    assert_eq!(String::from_utf8(run.stdout).unwrap(), String::from_utf8(clean.stdout).unwrap());
}

#[test]
fn an_output_that_is_the_input_is_refused_and_the_input_kept() {
    let tmp = scratch("same");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    let text = "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n";
    std::fs::write(&input, text).unwrap();
    // The same file by another path and by a hard link.
    let hard_link = dir.join("link.jsonl");
    std::fs::hard_link(&input, &hard_link).unwrap();
    for command in ["score", "cohort"] {
        for output in [dir.join(".").join("in.jsonl"), hard_link.clone()] {
            let run = bin().args([command, "--input"]).arg(&input).arg("--output").arg(&output).output().unwrap();
            assert_eq!(run.status.code(), Some(1), "{command} {output:?}");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(stderr.contains("this output is the input file"), "{command}: {stderr}");
            assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{command} {output:?}");
        }
    }
    // `score` writes its provenance beside the output: that file may not be the input either.
    let provenance_named = dir.join("out.jsonl.provenance.json");
    std::fs::write(&provenance_named, text).unwrap();
    let run = score(&provenance_named, &dir.join("out.jsonl"), &[]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("out.jsonl.provenance.json: this output is the input file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&provenance_named).unwrap(), text);
    assert!(!dir.join("out.jsonl").exists(), "refused before anything is written");
}

#[test]
fn an_unclosed_quote_in_a_csv_names_the_lines_it_swallowed() {
    let tmp = scratch("quote");
    let dir = tmp.path();
    let input = dir.join("in.csv");
    std::fs::write(&input, "id,occupation_code\nQ1,I1315\nQ2,\"I1315\nQ3,I1315\nQ4,F1605\n").unwrap();
    let output = dir.join("out.jsonl");
    let run = score(&input, &output, &["--top-k", "1"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scored 2 profiles (1 ok, 1 failed)"), "{stderr}");
    let records: Vec<Value> =
        std::fs::read_to_string(&output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["line"], 3);
    assert_eq!(
        records[1]["error"]["reason"],
        "malformed CSV: a quoted field opened on line 3 is never closed; lines 3–5 (the end of the file) were read as this one record and none of them is scored"
    );
}

#[test]
fn a_profile_by_job_title_and_region_keeps_its_resolution_and_tension_in_the_output() {
    let tmp = scratch("title");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"t\",\"job_title\":\"monteuse raccordeuse FTTH\",\"region\":\"04\"}\n").unwrap();
    let output = dir.join("out.jsonl");
    let run = score(&input, &output, &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&output).unwrap().lines().next().unwrap()).unwrap();
    let want = engine()
        .recommend(&RecommendQuery {
            profile: ProfileQuery {
                job_title: Some("monteuse raccordeuse FTTH".into()),
                region: Some("04".into()),
                ..Default::default()
            },
            top_k: Some(10),
            target_set: "ALL".into(),
            ..Default::default()
        })
        .unwrap();
    let used = &want.job_title.as_ref().unwrap().used.code;
    assert_eq!(line["answer"]["job_title"]["used"]["code"], used.as_str());
    assert_eq!(line["answer"]["tension"]["year"], 2019);
    let first = &line["answer"]["results"][0];
    assert_eq!(first["occupation"]["code"], want.results[0].occupation.code.as_str());
    assert_eq!(first["tension"]["category"].as_u64(), want.results[0].tension.as_ref().map(|t| u64::from(t.category)));
}

#[test]
fn a_semicolon_separated_csv_is_refused_once_naming_file_line_and_columns() {
    let tmp = scratch("semicolon");
    let dir = tmp.path();
    let input = dir.join("in.csv");
    std::fs::write(&input, "id;occupation_code;item_codes\na;I1315;\nb;F1602;\nc;I1315;\n").unwrap();
    let output = dir.join("out.csv");
    let expected = format!(
        "{}:1: the header has no `id` column: the file looks `;`-separated (columns must be separated by commas); \
         found 1 column: `id;occupation_code;item_codes`; expected comma-separated columns `id` (required), at \
         least one of `occupation_code`, `item_codes`, `job_title`, and optionally `removed_item_codes`, `region`, \
         `department` (other columns are ignored)",
        input.display()
    );
    for command in ["score", "cohort"] {
        let run = bin().args([command, "--input"]).arg(&input).arg("--output").arg(&output).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{command}: {stderr}");
        assert_eq!(stderr.matches(&expected).count(), 1, "{command}: {stderr}");
        assert!(!stderr.contains("line 2") && !stderr.contains("failed"), "no per-row errors: {stderr}");
        assert!(!output.exists(), "{command}: nothing is written");
    }
}

#[test]
fn an_oversize_line_and_a_long_id_are_error_records_and_the_next_lines_are_scored() {
    let tmp = scratch("oversize");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    // Line 2: 2 MiB of one record (over the default 1 MiB); line 3: a 300-byte id.
    let big = format!("{{\"id\":\"big\",\"job_title\":\"{}\"}}", "x".repeat(2 << 20));
    let long_id = "L".repeat(300);
    std::fs::write(
        &input,
        format!(
            "{{\"id\":\"a\",\"occupation_code\":\"I1315\"}}\n{big}\n{{\"id\":\"{long_id}\",\"occupation_code\":\"I1315\"}}\n\
             {{\"id\":\"b\",\"occupation_code\":\"F1602\"}}\n"
        ),
    )
    .unwrap();
    let output = dir.join("out.jsonl");
    let run = score(&input, &output, &["--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "2"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scored 4 profiles (2 ok, 2 failed)"), "{stderr}");
    let records: Vec<Value> =
        std::fs::read_to_string(&output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary: Vec<(u64, &str)> =
        records.iter().map(|r| (r["line"].as_u64().unwrap(), r["status"].as_str().unwrap())).collect();
    assert_eq!(summary, [(1, "ok"), (2, "error"), (3, "error"), (4, "ok")]);
    assert_eq!(big.len(), 2_097_179);
    assert_eq!(records[1]["id"], Value::Null);
    assert_eq!(records[1]["error"]["field"], "line");
    assert_eq!(
        records[1]["error"]["reason"],
        "record of 2097179 bytes is over the limit of 1048576 bytes (--max-record-bytes); skipped"
    );
    assert_eq!(records[2]["id"], format!("{}…", "L".repeat(40)));
    assert_eq!(records[2]["error"]["field"], "id");
    assert_eq!(records[2]["error"]["reason"], "id: 300 bytes, at most 256 are accepted");
    assert_eq!(records[3]["id"], "b");

    // The limit is a flag: at 1 KiB the first line (40 bytes) still passes, line 2 still fails.
    let run = score(&input, &output, &["--top-k", "1", "--max-record-bytes", "1024"]);
    assert_eq!(run.status.code(), Some(2));
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.lines().nth(1).unwrap().contains("over the limit of 1024 bytes"), "{text}");
    let refused = score(&input, &output, &["--max-record-bytes", "100"]);
    assert_eq!(refused.status.code(), Some(2), "clap refuses a value out of range");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--max-record-bytes"));
}

#[test]
fn an_input_that_is_a_directory_is_refused_and_the_previous_output_kept() {
    let tmp = scratch("directory");
    let dir = tmp.path();
    let input = dir.join("in.jsonl");
    std::fs::create_dir(&input).unwrap();
    let output = dir.join("out.jsonl");
    std::fs::write(&output, "last night's results\n").unwrap();
    let run = score(&input, &output, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot read {}: a directory, not a file", input.display())), "{stderr}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "last night's results\n", "output left untouched");
    assert!(!dir.join("out.jsonl.provenance.json").exists());
}

#[test]
fn a_short_csv_line_and_comma_separated_codes_are_named_as_such() {
    let tmp = scratch("csv-reasons");
    let dir = tmp.path();
    let input = dir.join("in.csv");
    std::fs::write(&input, "id,item_codes\nb\nc,\"403964,400772\"\nd,403964;400772\n").unwrap();
    let output = dir.join("out.jsonl");
    let run = score(&input, &output, &["--target-set", "DIGITAL_INFRASTRUCTURE", "--top-k", "1"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let text = std::fs::read_to_string(&output).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records[0]["error"], serde_json::json!({"field": "line", "reason": "1 field, the header has 2"}));
    assert_eq!(
        records[1]["error"],
        serde_json::json!({
            "field": "item_codes[0]",
            "reason": "item_codes[0]: unknown item code `403964,400772` (codes are separated by `;` or spaces, not commas)"
        })
    );
    assert_eq!(records[2]["status"], "ok");
}

/// `score … --output - | head`: the reader stops early; that is a normal stop (exit code 0,
/// no message), for `score` and `gen-profiles`.
#[test]
fn a_closed_standard_output_is_a_quiet_early_stop() {
    use std::io::BufRead;
    let tmp = scratch("broken-pipe");
    let input = tmp.path().join("in.jsonl");
    let made = bin().args(["gen-profiles", "--count", "2000", "--seed", "1", "--output"]).arg(&input).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let score = ["score", "--output", "-", "--output-format", "jsonl", "--top-k", "1", "--input"];
    let gen = ["gen-profiles", "--count", "1000000", "--format", "jsonl", "--output", "-"];
    for args in [&score[..], &gen[..]] {
        let mut cmd = bin();
        cmd.args(args);
        if args[0] == "score" {
            cmd.arg(&input);
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.starts_with("{\"id\":\"p0000001\""), "{first}");
        // The reader is dropped here: the rest of the output goes to a closed pipe.
        let run = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!((run.status.code(), stderr.as_ref()), (Some(0), ""), "{}", args[0]);
    }
}

/// A directory as `--output` (or an `--input` without an extension) is named as one, not as
/// a file whose format cannot be told from its extension.
#[test]
fn a_directory_as_input_or_output_is_named_as_such() {
    let tmp = scratch("directories");
    let dir = tmp.path().join("results");
    std::fs::create_dir(&dir).unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n").unwrap();
    let runs = [
        (score(&input, &dir, &[]), format!("error: cannot write {}: a directory, not a file\n", dir.display())),
        (
            score(&dir, &tmp.path().join("out.jsonl"), &[]),
            format!("error: cannot read {}: a directory, not a file\n", dir.display()),
        ),
        (
            bin().args(["gen-profiles", "--count", "1", "--output"]).arg(&dir).output().unwrap(),
            format!("error: cannot write {}: a directory, not a file\n", dir.display()),
        ),
        (
            bin().args(["cohort", "--input"]).arg(&input).arg("--output").arg(&dir).output().unwrap(),
            format!("error: cannot write {}: a directory, not a file\n", dir.display()),
        ),
    ];
    for (run, expected) in runs {
        assert_eq!((run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned()), (Some(1), expected));
    }
    assert!(!tmp.path().join("out.jsonl").exists());
    // A directory where the provenance goes was found after the whole run, the results
    // written: now refused before anything is read or written.
    let out = tmp.path().join("scored.jsonl");
    let provenance = tmp.path().join("scored.jsonl.provenance.json");
    std::fs::create_dir(&provenance).unwrap();
    let run = score(&input, &out, &[]);
    assert_eq!(
        (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned()),
        (Some(1), format!("error: cannot write {}: a directory, not a file\n", provenance.display()))
    );
    assert!(!out.exists(), "refused before the results are written");
}

#[test]
fn negative_counts_are_refused_naming_the_range() {
    // These options were parsed as unsigned numbers: `-1` gave clap's bare
    // `invalid digit found in string`, without the option's range.
    for (args, expected) in [
        (&["cohort", "--input", "-", "--rows", "-1"][..], "'--rows <ROWS>': -1 is not in 1..=1000"),
        (
            &["score", "--input", "-", "--output", "-", "--max-record-bytes", "-1"][..],
            "'--max-record-bytes <MAX_RECORD_BYTES>': -1 is not in 1024..=67108864",
        ),
        (&["gen-profiles", "--output", "-", "--count", "-1"][..], "'--count <COUNT>': -1 is not in 0..=10000000"),
        (
            &["gen-profiles", "--output", "-", "--seed", "-1"][..],
            "'--seed <SEED>': -1 is not in 0..=18446744073709551615",
        ),
    ] {
        let out = bin().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn cohort_help_lists_the_csv_columns_whole() {
    // The doc comment's line break put a space into the list (`moves, expected_moves`) and
    // its rustdoc link `(see [`csv`])` was printed as is.
    let out = bin().args(["cohort", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("section,rank,code,label,kind,people,share,mean_probability,moves,expected_moves,hours,hours_basis,cost_eur,cost_basis"),
        "{help}"
    );
    assert!(!help.contains("[`"), "{help}");
}

#[test]
fn gen_profiles_count_has_an_upper_limit_and_seed_takes_any_u64() {
    let out =
        bin().args(["gen-profiles", "--output", "-", "--format", "jsonl", "--count", "10000001"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid value '10000001' for '--count <COUNT>': 10000001 is not in 0..=10000000\n\n\
         For more information, try '--help'.\n"
    );
    assert!(out.stdout.is_empty(), "nothing written");
    let help = bin().args(["gen-profiles", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("How many profiles, 0..=10000000"), "{help}");
    // The largest seed is a seed like any other: same seed, same profiles.
    let seed = u64::MAX.to_string();
    let args = ["gen-profiles", "--output", "-", "--format", "jsonl", "--count", "3", "--seed", &seed];
    let (first, second) = (bin().args(args).output().unwrap(), bin().args(args).output().unwrap());
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout).lines().count(), 3);
    assert_eq!(first.stdout, second.stdout);
}

/// A cohort with no accepted record still names its target set: the set asked for, by its
/// own name, or the default `ALL` (the table said `target set -`, the JSON `null`).
#[test]
fn an_empty_cohort_names_the_target_set_asked_for() {
    let tmp = scratch("cohort-empty");
    let input = tmp.path().join("refused.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"occupation_code\":\"Z9999\"}\n").unwrap();
    for (extra, set) in [
        (&[][..], "ALL"),
        (&["--target-set", "digital_infrastructure"][..], "DIGITAL_INFRASTRUCTURE"),
        (&["--target-set", " DIGITAL_INFRASTRUCTURE "][..], "DIGITAL_INFRASTRUCTURE"),
    ] {
        let run = bin().args(["cohort", "--input"]).arg(&input).args(extra).output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&run.stderr));
        let text = String::from_utf8(run.stdout).unwrap();
        assert!(
            text.starts_with(&format!(
                "Cohort of 0 people (1 records refused), target set {set}, top 10 moves per person\n"
            )),
            "{extra:?}: {text}"
        );
        let run = bin().args(["cohort", "--format", "json", "--input"]).arg(&input).args(extra).output().unwrap();
        let json: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(json["report"]["target_set"], set, "{extra:?}");
    }
}

/// An unknown `--target-set` is named by its flag, not by the request field `target_set`.
#[test]
fn an_unknown_target_set_is_named_by_its_flag() {
    let dir = scratch("target-set-flag");
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "id,occupation_code\na,I1315\n").unwrap();
    let out = score(&input, &dir.path().join("out.jsonl"), &["--target-set", "d\u{131}gital"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid option: --target-set: unknown target set `d\u{131}gital`"
    );
    let out = bin().args(["cohort", "--input"]).arg(&input).args(["--target-set", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid option: --target-set: unknown target set `nope`"
    );
}

/// The summary said "scored 1 profiles".
#[test]
fn the_summary_of_one_profile_is_singular() {
    let tmp = scratch("one");
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n").unwrap();
    let run = score(&input, &tmp.path().join("out.jsonl"), &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.starts_with("scored 1 profile (1 ok, 0 failed) in "), "{stderr}");
}

/// SIGTERM (or Ctrl-C) killed `score` at once: no summary, no provenance, and the records
/// scored but not yet written were lost. Now the records read are scored and written, the
/// provenance says `interrupted` and where to resume, and the exit code is 130.
#[test]
fn sigterm_stops_score_after_writing_every_record_read_with_the_line_to_resume_after() {
    use std::io::{BufRead, Write};
    let tmp = scratch("sigterm");
    let output = tmp.path().join("out.jsonl");
    let mut child = bin()
        .args(["score", "--input", "-", "--input-format", "jsonl", "--top-k", "1", "--output"])
        .arg(&output)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // 1,500 records: the first chunk (1,024) is scored and written, then `score` waits for
    // the rest of the second chunk on the open pipe.
    for i in 0..1500 {
        writeln!(stdin, "{{\"id\":\"p{i}\",\"occupation_code\":\"I1315\"}}").unwrap();
    }
    stdin.flush().unwrap();
    let written = || std::fs::read(&output).map(|b| b.iter().filter(|&&c| c == b'\n').count()).unwrap_or(0);
    let waited = std::time::Instant::now();
    while written() < 1024 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(300), "the first chunk was never written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    // The signal is taken; the records still in the pipe are read until its end, none after.
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.lines().any(|l| l
            == "error: interrupted: 1500 records scored and written, up to input line 1500; nothing after it was \
                read (to resume, score the records after line 1500)"),
        "{stderr}"
    );
    let lines: Vec<Value> = std::io::BufReader::new(std::fs::File::open(&output).unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 1500);
    for (i, record) in lines.iter().enumerate() {
        assert_eq!(record["id"], format!("p{i}"));
        assert_eq!(record["line"], i + 1);
        assert_eq!(record["status"], "ok");
    }
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out.jsonl.provenance.json")).unwrap()).unwrap();
    assert_eq!(provenance["summary"]["interrupted"], true);
    assert_eq!(provenance["summary"]["records"], 1500);
    assert_eq!(provenance["summary"]["last_line"], 1500);
}
