//! Interoperability: the Python client `tests/python/client.py` (grpcio, stubs generated from
//! `proto/` at test time) against the real server on 127.0.0.1.
//!
//! The test makes a virtual environment under `target/tmp/` and pip-installs the pinned
//! `tests/python/requirements.txt` into it once (kept while the requirements are unchanged).
//! It needs `python3` (3.9 or later, with `venv`) and PyPI; without them it FAILS, naming
//! what is missing, unless `PASSERELLE_SKIP_PYTHON=1` is set (then it is skipped with a
//! message). `PASSERELLE_PYTHON` chooses another interpreter.

use std::path::{Path, PathBuf};
use std::process::Command;

use passerelle_tests::{shared_engine, spawn_app};

const REQUIREMENTS: &str = include_str!("python/requirements.txt");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(command: &mut Command, what: &str) -> String {
    match command.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => panic!(
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "{what}: cannot run {:?}: {e}. Install python3 (3.9+, with venv) or set PASSERELLE_SKIP_PYTHON=1",
            command.get_program()
        ),
    }
}

/// The venv's interpreter, creating the venv and installing the requirements if needed.
fn python_venv() -> PathBuf {
    let python = std::env::var("PASSERELLE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let interpreter = venv.join("bin").join("python");
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) && interpreter.exists() {
        return interpreter;
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new(&python).arg("-m").arg("venv").arg(&venv), "creating the Python venv");
    run(
        Command::new(&interpreter)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--timeout", "60", "-r"])
            .arg(repo_root().join("tests/python/requirements.txt")),
        "pip install -r tests/python/requirements.txt",
    );
    if let Err(e) = std::fs::write(&stamp, REQUIREMENTS) {
        panic!("writing {}: {e}", stamp.display());
    }
    interpreter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_calls_health_reflection_and_recommend() {
    if std::env::var("PASSERELLE_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!("PASSERELLE_SKIP_PYTHON=1: Python interoperability test skipped");
        return;
    }
    let interpreter = tokio::task::spawn_blocking(python_venv).await.expect("venv task");
    let app = spawn_app().await;
    let addr = app.addr.to_string();
    let checksum = shared_engine().model_info().checksum.clone();
    let output = tokio::task::spawn_blocking(move || {
        run(
            Command::new(&interpreter)
                .arg(repo_root().join("tests/python/client.py"))
                .args(["--addr", &addr, "--check", "--checksum", &checksum])
                .arg("--proto-dir")
                .arg(repo_root().join("proto"))
                .env("PYTHONDONTWRITEBYTECODE", "1"),
            "tests/python/client.py",
        )
    })
    .await
    .expect("client task");
    assert!(output.contains("ok: curated mobilities first"), "{output}");
    assert!(output.ends_with("python interop: all checks passed\n"), "{output}");
    app.stop().await.expect("clean stop");
}
