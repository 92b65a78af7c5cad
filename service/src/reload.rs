//! Model hot reload, shared by SIGHUP and `AdminService.ReloadModel`: re-read the data,
//! target sets and model artifact from the configured paths, validate them together
//! (off the async workers), then swap the engine slot atomically. Requests in progress
//! keep the engine they started with; a refused artifact leaves the old model serving.
//!
//! Reloads are logged at info (paths and checksums only, never request content).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle_model::error::DataError;

use crate::grpc::pathway::EngineSlot;
use crate::grpc::training::TrainingSlot;
use crate::metrics::Metrics;
use crate::server::EngineSource;

/// What a successful reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// SHA-256 checksum of the artifact now served.
    pub checksum: String,
    /// Checksum served before.
    pub previous_checksum: String,
    /// Model family.
    pub model_kind: String,
    /// The artifact file.
    pub model_path: PathBuf,
    /// Whether the new model is calibrated.
    pub calibrated: bool,
    /// Time to load, validate and swap.
    pub elapsed: Duration,
}

/// Why a reload did not happen; the old model (if any) keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The server serves the embedded model: there is no file to re-read.
    #[error("no model path configured (the embedded model is served); start with --model PATH to enable reload")]
    NoModelPath,
    /// The first model is not loaded yet.
    #[error("the model is still loading")]
    StillLoading,
    /// Another reload is running.
    #[error("another reload is in progress")]
    InProgress,
    /// The data, target sets or artifact were refused.
    #[error("{source}; still serving model {serving}")]
    Refused {
        /// The artifact path.
        path: PathBuf,
        /// Why (file, line, checksum…).
        #[source]
        source: DataError,
        /// Checksum of the model still served.
        serving: String,
    },
}

/// Reloads the engine of one server.
#[derive(Debug)]
pub struct Reloader {
    source: EngineSource,
    slot: EngineSlot,
    training: Option<TrainingSlot>,
    metrics: Option<Arc<Metrics>>,
    busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of `slot` from `source`.
    pub fn new(source: EngineSource, slot: EngineSlot) -> Self {
        Reloader { source, slot, training: None, metrics: None, busy: tokio::sync::Mutex::new(()) }
    }

    /// Also rebuilds the training catalogue of `training` from the reloaded data (stored just
    /// before the engine, so plans always match the data they are asked about).
    pub fn with_training(mut self, training: TrainingSlot) -> Self {
        self.training = Some(training);
        self
    }

    /// Also records each model swapped in (`passerelle_model_info`, load time) in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Loads, validates and swaps (see the module docs).
    ///
    /// # Errors
    /// [`ReloadError`]; the engine slot is then unchanged.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let path = self.source.model.clone().ok_or(ReloadError::NoModelPath)?;
        let Ok(_busy) = self.busy.try_lock() else {
            return Err(ReloadError::InProgress);
        };
        let previous = self.slot.load_full().ok_or(ReloadError::StillLoading)?;
        let previous_checksum = previous.model_info().checksum.clone();
        drop(previous);
        let started = Instant::now();
        let source = self.source.clone();
        let with_training = self.training.is_some();
        let loaded = tokio::task::spawn_blocking(move || {
            let engine = source.load()?;
            let training = if with_training { Some(source.load_training(engine.catalogue())?) } else { None };
            Ok((engine, training))
        })
        .await
        .unwrap_or_else(|e| Err(DataError::Artifact { reason: format!("loader task failed: {e}") }));
        let engine = match loaded {
            Ok((engine, training)) => {
                if let (Some(slot), Some(training)) = (&self.training, training) {
                    slot.store(Some(Arc::new(training)));
                }
                Arc::new(engine)
            }
            Err(source) => {
                tracing::warn!(error = %source, serving = %previous_checksum, "model reload refused; the old model keeps serving");
                return Err(ReloadError::Refused { path, source, serving: previous_checksum });
            }
        };
        let info = engine.model_info().clone();
        self.slot.store(Some(engine));
        let elapsed = started.elapsed();
        if let Some(metrics) = &self.metrics {
            metrics.model_loaded(&info, elapsed);
        }
        tracing::info!(
            previous = %previous_checksum,
            model = %info.checksum,
            path = %path.display(),
            elapsed_ms = elapsed.as_millis() as u64,
            "model reloaded"
        );
        Ok(Reloaded {
            checksum: info.checksum,
            previous_checksum,
            model_kind: info.model_kind,
            model_path: path,
            calibrated: info.calibrated,
            elapsed,
        })
    }
}
