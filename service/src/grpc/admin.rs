//! `passerelle.v1.AdminService`: operator actions (model hot reload).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::grpc::status;
use crate::proto::v1 as pb;
use crate::reload::Reloader;

/// Implementation of `AdminService` (API key checked by the guard layer when configured).
#[derive(Debug, Clone)]
pub struct AdminApi {
    reloader: Arc<Reloader>,
}

impl AdminApi {
    /// The service over a server's reloader.
    pub fn new(reloader: Arc<Reloader>) -> Self {
        AdminApi { reloader }
    }
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for AdminApi {
    #[tracing::instrument(name = "ReloadModel", skip_all)]
    async fn reload_model(
        &self,
        request: Request<pb::ReloadModelRequest>,
    ) -> Result<Response<pb::ReloadModelResponse>, Status> {
        let pb::ReloadModelRequest {} = request.into_inner();
        let done = self.reloader.reload().await.map_err(|e| status::from_reload_error(&e))?;
        Ok(Response::new(pb::ReloadModelResponse {
            changed: done.checksum != done.previous_checksum,
            checksum: done.checksum,
            previous_checksum: done.previous_checksum,
            model_kind: done.model_kind,
            model_path: done.model_path.display().to_string(),
            calibrated: done.calibrated,
            elapsed_ms: done.elapsed.as_millis() as u64,
        }))
    }
}
