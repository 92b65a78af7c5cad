//! The one place where domain errors become gRPC statuses. The `match` is exhaustive with no
//! wildcard arm: a new error variant forces a decision here.

use passerelle_model::error::{DataError, QueryError, MAX_LISTED_ERRORS};

use crate::reload::ReloadError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Maps a query error to `INVALID_ARGUMENT` with a `google.rpc.BadRequest` field violation
/// naming the request field (e.g. `profile.item_codes[2]`), one per unknown code for a
/// [`QueryError::Several`] (at most [`MAX_LISTED_ERRORS`]); `FAILED_PRECONDITION` for data
/// the server was started without.
pub fn from_query_error(err: &QueryError) -> Status {
    let code = match err {
        QueryError::UnknownOccupation { .. }
        | QueryError::UnknownItem { .. }
        | QueryError::EmptyProfile
        | QueryError::TopKOutOfRange { .. }
        | QueryError::TooManyItems { .. }
        | QueryError::UnknownTargetSet { .. }
        | QueryError::InvalidValue { .. }
        | QueryError::NoMatchingOccupation { .. }
        | QueryError::UnknownArea { .. }
        // Only unknown codes are gathered, each of them the caller's to fix.
        | QueryError::Several(_) => Code::InvalidArgument,
        // The server was started without the data a field needs: not the caller's fault.
        QueryError::NotLoaded { .. } => Code::FailedPrecondition,
    };
    let mut details = ErrorDetails::new();
    for one in err.violations().iter().take(MAX_LISTED_ERRORS) {
        details.add_bad_request_violation(one.field(), one.to_string());
    }
    Status::with_error_details(code, err.to_string(), details)
}

/// Maps a refused reload: `FAILED_PRECONDITION` with a `PreconditionFailure` violation
/// when there is no model path or a file is refused (type `MODEL_ARTIFACT`, subject the
/// artifact path, when it is the artifact; type `DATA_FILE`, subject that file, when it is a
/// file of the ROME export, the target sets or the training catalogue), `UNAVAILABLE` while
/// the first model loads, `ABORTED` when another reload runs.
pub fn from_reload_error(err: &ReloadError) -> Status {
    let message = err.to_string();
    match err {
        ReloadError::NoModelPath => Status::with_error_details(
            Code::FailedPrecondition,
            &message,
            ErrorDetails::with_precondition_failure_violation("MODEL_ARTIFACT", "model", &message),
        ),
        ReloadError::Refused { path, source, .. } => {
            let artifact = path.display().to_string();
            // The file the error names: a reload re-reads the data and target sets too, and
            // a refused target-set file was reported as the artifact.
            let file = match source {
                DataError::Io { file, .. } => file.display().to_string(),
                DataError::MissingColumn { file, .. }
                | DataError::BadRow { file, .. }
                | DataError::Invalid { file, .. } => file.clone(),
                DataError::Artifact { .. } => artifact.clone(),
            };
            let kind = if file == artifact { "MODEL_ARTIFACT" } else { "DATA_FILE" };
            Status::with_error_details(
                Code::FailedPrecondition,
                &message,
                ErrorDetails::with_precondition_failure_violation(kind, file, &message),
            )
        }
        ReloadError::StillLoading => Status::unavailable(message),
        ReloadError::InProgress => Status::aborted(message),
    }
}

/// A status with one `BadRequest` field violation.
pub fn invalid_field(code: Code, field: &str, message: &str) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_bad_request_violation(field, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_item_names_field_and_value() {
        let err = QueryError::UnknownItem { field: "profile.item_codes[1]".into(), code: "999".into() };
        let status = from_query_error(&err);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "profile.item_codes[1]: unknown item code `999`");
        let details = status.get_error_details();
        let violations = &details.bad_request().expect("bad request details").field_violations;
        assert_eq!(violations[0].field, "profile.item_codes[1]");
    }
}
