//! The answers the document lists for every operation of a kind, added in one place rather
//! than repeated on each handler: what the extractors and the admission layer answer before a
//! handler runs. Each handler's `#[utoipa::path]` lists only the answers of its own logic.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, ResponseBuilder};

/// The answers an operation can give because of its shape:
/// - every operation: 429 (this client is over its rate) and 503 (the platform is at capacity);
/// - with a JSON body: 400 (not JSON), 413 (too large), 415 (not `application/json`) and 422
///   (JSON of the wrong shape);
/// - signed in: 401 (no session, or an expired one);
/// - with query parameters: 400 (one does not parse);
/// - on one resource (`{id}`): 400 (an id that is not a number) and 404 (not yours, or none).
pub fn document_common_answers(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let on_resource = path.contains('{');
        for operation in [
            item.get.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            add(
                operation,
                429,
                "Too many requests from this client; see Retry-After",
            );
            add(
                operation,
                503,
                "The platform is at capacity; see Retry-After",
            );
            if operation.request_body.is_some() {
                add(operation, 400, "The body is not JSON");
                add(operation, 413, "The body is too large");
                add(operation, 415, "The body is not application/json");
                add(
                    operation,
                    422,
                    "The body does not have the documented shape",
                );
            }
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add(operation, 401, "Not signed in, or the session has expired");
            }
            let has_query = operation.parameters.as_ref().is_some_and(|p| {
                p.iter()
                    .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
            });
            if has_query {
                add(operation, 400, "A query parameter does not parse");
            }
            if on_resource {
                add(operation, 400, "The id in the path is not a number");
                add(operation, 404, "No such resource of this account");
            }
        }
    }
}

/// Adds `status` with the error body, unless the handler documents it already.
fn add(operation: &mut Operation, status: u16, description: &str) {
    let answers = &mut operation.responses.responses;
    answers.entry(status.to_string()).or_insert_with(|| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .into()
    });
}
