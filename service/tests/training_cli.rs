//! `passerelle plan` and `passerelle explore` as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn passerelle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle")).args(args).output().expect("run passerelle")
}

/// `plan --occupation I1315 --remove 403964 --target F1623` with an operator catalogue of
/// `csv`; the temporary file and the run's output (the file is deleted when dropped).
fn plan_with_catalogue(csv: &[u8]) -> (tempfile::NamedTempFile, Output) {
    let file = tempfile::Builder::new().prefix("passerelle-opco-").suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), csv).unwrap();
    let out = passerelle(&[
        "plan",
        "--occupation",
        "I1315",
        "--remove",
        "403964",
        "--target",
        "F1623",
        "--training-catalogue",
        file.path().to_str().unwrap(),
    ]);
    (file, out)
}

#[test]
fn plan_uses_the_operator_catalogue_and_reports_its_bad_rows_by_line() {
    let (file, out) = plan_with_catalogue(
        b"certification,level,hours,cost,region,provider,covered_items\n490944,3,250,1800,84,AFPA,\n490945,,-3,,,,\n",
    );
    let path = file.path();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!("warning: row refused: {}: line 3: hours `-3` is not a positive number", path.display())
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let certs = json["plan"]["certifications"].as_array().unwrap();
    let codes: Vec<u64> = certs.iter().map(|c| c["code"].as_u64().unwrap()).collect();
    assert_eq!(codes, [403964, 490944]);
    assert_eq!(certs[1]["hours"]["value"], 250.0);
    assert_eq!(certs[1]["hours"]["basis"], "operator");
    assert_eq!(certs[1]["provider"], "AFPA");
    assert_eq!(json["plan"]["total_hours"], 257.0);
    assert!(json["summary"].as_str().unwrap().starts_with("2 certification(s), 257.0 h"));
    file.close().unwrap();
}

/// Runs `plan` with an operator catalogue of `csv` whose line 3 is refused for `reason`:
/// the run succeeds, warns of that one row on stderr, and uses line 2 (certification
/// 490944, hours with basis `operator`).
fn assert_line_3_refused_and_line_2_used(csv: &[u8], reason: &str) {
    let (file, out) = plan_with_catalogue(csv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.trim(), format!("warning: row refused: {}: line 3: {reason}", file.path().display()));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["plan"]["certifications"][1]["code"], 490944);
    assert_eq!(json["plan"]["certifications"][1]["hours"]["basis"], "operator");
    file.close().unwrap();
}

/// An invalid UTF-8 byte in the operator catalogue refuses that row with its line and field
/// (it refused the whole file, naming no line); the other rows are used.
#[test]
fn an_invalid_utf8_row_of_the_operator_catalogue_is_refused_with_its_line() {
    assert_line_3_refused_and_line_2_used(
        b"certification,level,hours,cost,region,provider,covered_items\n490944,3,250,1800,84,AFPA,\n490945,,30,,,Lyc\xE9e,\n",
        "invalid UTF-8 in field \"provider\" (column 6)",
    );
}

/// A quote left open on the catalogue's last row was reported as a field count ("2 fields
/// where the header has 7"); the rows before it are used.
#[test]
fn a_quote_left_open_on_the_operator_catalogues_last_row_is_named() {
    assert_line_3_refused_and_line_2_used(
        b"certification,level,hours,cost,region,provider,covered_items\n490944,3,250,1800,84,AFPA,\n490945,\"3,30,,,,\n",
        "a quoted field opened on line 3, the last line, is never closed: the file ends inside it (cut short?)",
    );
}

#[test]
fn plan_limits_are_named_by_their_options() {
    let out = passerelle(&["plan", "--occupation", "I1315", "--target", "F1623", "--max-hours", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().starts_with("error: invalid query: --max-hours: "), "{stderr}");
}

#[test]
fn plan_with_unknown_target_fails_naming_the_field() {
    let out = passerelle(&["plan", "--occupation", "I1315", "--target", "Z9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid query: --target: unknown ROME code `Z9999`"
    );
}

#[test]
fn negative_explore_and_plan_limits_name_their_real_range() {
    // clap's bare u32 parser answered `-1 is not in 0..=4294967295`, a range no option has.
    for (args, expected) in [
        (&["explore", "--occupation", "I1315", "--top-k", "-1"][..], "'--top-k <TOP_K>': -1 is not in 1..=20"),
        (&["explore", "--occupation", "I1315", "--fan-out", "-1"][..], "'--fan-out <FAN_OUT>': -1 is not in 1..=10"),
        (
            &["explore", "--occupation", "I1315", "--max-intermediates", "-1"][..],
            "'--max-intermediates <MAX_INTERMEDIATES>': -1 is not in 0..=2",
        ),
        (
            &["plan", "--occupation", "I1315", "--target", "I1311", "--max-level", "-1"][..],
            "'--max-level <MAX_LEVEL>': -1 is not in 1..=8",
        ),
    ] {
        let out = passerelle(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn explore_prints_the_best_paths_as_json() {
    let out = passerelle(&["explore", "--occupation", "I1315", "--top-k", "3", "--max-hours", "1000"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let paths = json["exploration"]["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    assert_eq!(json["exploration"]["target_set"], "DIGITAL_INFRASTRUCTURE");
    assert!(paths.iter().all(|p| p["total_hours"].as_f64().unwrap() <= 1000.0));
    assert!(json["score_basis"].as_str().unwrap().contains("1607"));
}
