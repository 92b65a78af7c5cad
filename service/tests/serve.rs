//! `passerelle serve` as operators run it: settings from file, environment and flags;
//! logs free of personal data; SIGHUP reload; SIGTERM → exit 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use passerelle_service::proto::v1::pathway_service_client::PathwayServiceClient;
use passerelle_service::proto::v1::{Profile, RecommendPathwaysRequest};
use tempfile::TempDir;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passerelle"));
    // Only the variables a test sets.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PASSERELLE_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A fresh folder, removed when the returned guard is dropped: a test holds it until the
/// server reading its files has stopped.
fn temp_dir(name: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("passerelle-serve-{name}-")).tempdir().unwrap()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run passerelle")
}

#[test]
fn serve_help_documents_every_settings_key() {
    let out = run(bin().args(["serve", "--help"]));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for key in passerelle_service::settings::Settings::keys() {
        assert!(help.contains(&format!("--{}", key.replace('_', "-"))), "--help lacks flag for `{key}`");
        assert!(help.contains(key), "--help lacks key `{key}`");
    }
    assert!(help.contains("--config") && help.contains("PASSERELLE_API_KEYS"), "{help}");
    assert!(help.contains("defaults < --config file < PASSERELLE_<KEY> environment variables < flags"), "{help}");
}

#[test]
fn invalid_settings_fail_at_start_naming_the_key_and_layers_take_precedence() {
    let dir = temp_dir("config");
    let config = dir.path().join("passerelle.toml");
    std::fs::write(&config, "max_top_k = 0\n").unwrap();
    let cfg = config.to_str().unwrap();

    let out = run(bin().args(["serve", "--config", cfg]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "error: invalid setting `max_top_k`: 0 is out of range 1..=100 (the engine's hard cap), from config file {cfg}"
        )
    );
    // The environment overrides the file...
    let out = run(bin().args(["serve", "--config", cfg]).env("PASSERELLE_MAX_TOP_K", "500"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `max_top_k`: 500 is out of range 1..=100 (the engine's hard cap), from environment \
         variable PASSERELLE_MAX_TOP_K"
    );
    // ...and flags override the environment: the flag's valid 50 replaces the variable's
    // 500, so the next key checked is the one refused.
    let out = run(bin()
        .args(["serve", "--config", cfg, "--max-top-k", "50"])
        .env("PASSERELLE_MAX_TOP_K", "500")
        .env("PASSERELLE_MAX_CONCURRENT_REQUESTS", "0"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `max_concurrent_requests`: 0 is out of range 1..=100000, from environment variable \
         PASSERELLE_MAX_CONCURRENT_REQUESTS"
    );
    let out = run(bin().args(["serve"]).env("PASSERELLE_LOG_FORMAT", "yaml"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `log_format`: `yaml` is neither `text` nor `json`, from environment variable \
         PASSERELLE_LOG_FORMAT"
    );
    // An address that is not IP:PORT gets the reason the flag gives, not figment's
    // `invalid socket address syntax`.
    let out = run(bin().args(["serve"]).env("PASSERELLE_ADDR", "localhost:50051"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid configuration of `addr`: `localhost:50051`: expected an IP address and a port, such as \
         127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051 (host names such as localhost are not resolved) in environment \
         variable PASSERELLE_ADDR"
    );
    // A flag out of range is refused by the flag's parser, with the same range.
    let out = run(bin().args(["serve", "--config", cfg, "--max-top-k", "300"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: invalid value '300' for '--max-top-k <N>': 300 is not in 1..=100\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The variables v0 read keep working: PASSERELLE_ADDR (here a busy port).
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = run(bin().args(["serve"]).env("PASSERELLE_ADDR", &addr).env("PASSERELLE_LOG_FORMAT", "json"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error: cannot listen on {addr}: ")), "{stderr}");
    // A negative whole number gets the range message, not figment's `invalid type: found
    // signed int `-1`, expected u64`.
    let out = run(bin().args(["serve"]).env("PASSERELLE_SHUTDOWN_GRACE_SECS", "-1"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `shutdown_grace_secs`: -1 is out of range 0..=3600, from environment variable \
         PASSERELLE_SHUTDOWN_GRACE_SECS"
    );
    // A value of the wrong type names the variable.
    let out = run(bin().args(["serve"]).env("PASSERELLE_MAX_CONNECTIONS", "many"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `max_connections`: found string \"many\", expected a whole number in 1..=100000, from \
         environment variable PASSERELLE_MAX_CONNECTIONS"
    );
    // A bidirectional override in the value is shown as `?` (figment wrote `\u{202e}`).
    let out = run(bin().args(["serve"]).env("PASSERELLE_MAX_CONNECTIONS", "5\u{202E}0"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `max_connections`: found string \"5?0\", expected a whole number in 1..=100000, from \
         environment variable PASSERELLE_MAX_CONNECTIONS"
    );
    // A number too large for any integer is out of range too (figment read it as a string).
    let out = run(bin().args(["serve"]).env("PASSERELLE_MAX_TOP_K", "99999999999999999999999"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid setting `max_top_k`: 99999999999999999999999 is out of range 1..=100 (the engine's hard cap), \
         from environment variable PASSERELLE_MAX_TOP_K"
    );
    // An unknown key in the file names it.
    std::fs::write(&config, "max_conections = 5\n").unwrap();
    let out = run(bin().args(["serve", "--config", cfg]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: invalid configuration of `max_conections`: unknown field: found `max_conections`"),
        "{stderr}"
    );
    assert!(stderr.trim_end().ends_with(&format!(" in config file {}", config.display())), "{stderr}");
    assert!(stderr.contains(", expected one of `addr`, `log_format`, `data`, "), "{stderr}");
    // An empty path names its key (it failed later, naming a ROME file).
    std::fs::write(&config, "data = \"\"\n").unwrap();
    let out = run(bin().args(["serve", "--config", cfg]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("error: invalid setting `data`: the path is empty; leave the key out for its default, from config file {cfg}")
    );
    // An empty PASSERELLE_CONFIG names the variable (clap named only --config).
    let out = run(bin().args(["serve"]).env("PASSERELLE_CONFIG", ""));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: environment variable PASSERELLE_CONFIG is empty: give it a value, or unset it (it stands for --config <FILE>)\n"
    );
    // On the command line, an empty --config is clap's to report.
    let out = run(bin().args(["serve", "--config="]).env("PASSERELLE_CONFIG", ""));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: a value is required for '--config <FILE>' but none was supplied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A path that is not UTF-8 names its variable (figment's message named an internal
    // type, or read the bad bytes as U+FFFD and named another file).
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let latin1 = std::ffi::OsStr::from_bytes(b"/srv/caf\xe9");
        for (name, key) in [("PASSERELLE_DATA", "data"), ("PASSERELLE_TLS_CERT", "tls_cert")] {
            let out = run(bin().args(["serve"]).env(name, latin1));
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                String::from_utf8_lossy(&out.stderr).trim(),
                format!(
                    "error: invalid setting `{key}`: the value is not valid UTF-8 (settings are UTF-8 text), from \
                     environment variable {name}"
                )
            );
        }
        let out = run(bin().args(["serve".as_ref(), "--model".as_ref(), latin1]));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "error: invalid setting `model`: the value is not valid UTF-8 (settings are UTF-8 text), from --model"
        );
        // A flag given on the command line replaces the variable, which is then not read.
        let out = run(bin()
            .args(["serve", "--data", "/srv/rome"])
            .env("PASSERELLE_DATA", latin1)
            .env("PASSERELLE_LOG_FORMAT", "yaml"));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "error: invalid setting `log_format`: `yaml` is neither `text` nor `json`, from environment variable \
             PASSERELLE_LOG_FORMAT"
        );
    }
    // A bad API key names its line, never the key.
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "# operators\nshort-secret\n").unwrap();
    let out = run(bin().args(["serve", "--api-keys-file", keys.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), format!("error: api_keys_file {}: line 2: shorter than 16 bytes", keys.display()));
}

/// A running `passerelle serve` and its stderr lines.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = bin()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn passerelle serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Server { child, lines, log: Vec::new() }
    }

    /// Reads lines until one contains `needle`; returns it (panics after 60 s or at EOF).
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no log line with `{needle}` ({e}); log so far:\n{}", self.log.join("\n")),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status and the whole log.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        let mut log = std::mem::take(&mut self.log);
        log.extend(self.lines.try_iter());
        // The reader thread ends at EOF: collect what is left.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            log.push(line);
        }
        (status, log)
    }
}

impl Drop for Server {
    /// A failing test must not leave the server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn listening_addr(line: &str) -> String {
    let start = line.find("addr=").expect("addr= in the listening line") + "addr=".len();
    line[start..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn logs_at_info_hold_no_profile_data_and_sighup_reloads_and_sigterm_exits_zero() {
    // Declared before the server: dropped (removed) after it, once the server is killed.
    let dir = temp_dir("logs");
    let model = dir.path().join("model.json");
    std::fs::write(&model, passerelle_model::embedded::MODEL_JSON).unwrap();
    let mut server = Server::start(&["--model", model.to_str().unwrap()]);
    let addr = listening_addr(&server.wait_for("passerelle listening"));
    server.wait_for("model loaded; serving");

    // Profile content that must never reach the logs at info level.
    let secrets = ["I1315", "F1602", "100023", "100063", "X9999", "987654321"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut client = PathwayServiceClient::connect(format!("http://{addr}")).await.unwrap();
        let ok = RecommendPathwaysRequest {
            profile: Some(Profile {
                occupation_code: "I1315".into(),
                item_codes: vec!["100023".into(), "100063".into()],
                removed_item_codes: vec![],
                ..Default::default()
            }),
            top_k: Some(5),
            target_set_name: "DIGITAL_INFRASTRUCTURE".into(),
            ..Default::default()
        };
        assert_eq!(client.recommend_pathways(ok).await.unwrap().into_inner().pathways.len(), 5);
        for (occupation, item) in [("X9999", "100023"), ("F1602", "987654321")] {
            let bad = RecommendPathwaysRequest {
                profile: Some(Profile {
                    occupation_code: occupation.into(),
                    item_codes: vec![item.into()],
                    removed_item_codes: vec![],
                    ..Default::default()
                }),
                ..Default::default()
            };
            client.recommend_pathways(bad).await.expect_err("invalid");
        }
    });

    // SIGHUP with a new valid artifact: reloaded, new checksum in the log.
    let mut artifact =
        passerelle_model::transition::ModelArtifact::from_json(passerelle_model::embedded::MODEL_JSON).unwrap();
    artifact.params.seed += 1;
    std::fs::write(&model, artifact.to_json().unwrap()).unwrap();
    server.signal("HUP");
    let line = server.wait_for("model reloaded");
    assert!(line.contains(&artifact.checksum), "{line}");
    // SIGHUP with a corrupt artifact: refused, logged, still serving.
    std::fs::write(&model, "{ not json").unwrap();
    server.signal("HUP");
    let line = server.wait_for("model reload refused");
    assert!(line.contains(&format!("serving={}", artifact.checksum)), "{line}");

    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "{}", log.join("\n"));
    assert!(log.iter().any(|l| l.contains("stopped")), "{}", log.join("\n"));
    assert!(log.iter().any(|l| l.contains("invalid request")), "the refusals are logged: {}", log.join("\n"));
    for line in &log {
        for secret in secrets {
            assert!(!line.contains(secret), "profile data `{secret}` in the log: {line}");
        }
    }
}
