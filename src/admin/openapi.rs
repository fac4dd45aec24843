//! `GET /api/openapi.json`: the API's OpenAPI 3.1 document, built with utoipa.
//! Response schemas are derived from the Rust types the handlers answer with
//! (`ToSchema`); the operations come from [`OPERATIONS`], which sits beside the
//! route table in `routes` so the two are read together, and from the object
//! kinds of `config::change::Kind` (one collection each). Every operation but
//! the public ones needs a bearer token; every refusal is problem+json.

use crate::config::change::Kind;
use actix_web::HttpResponse;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, Paths,
    RefOr, Required, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// What an operation answers when it succeeds.
#[derive(Clone, Copy)]
enum Ok {
    /// JSON of a named component schema.
    Json(&'static str),
    /// A JSON array of a named component schema.
    List(&'static str),
    /// A free-form JSON object.
    Object,
    /// A JSON array of free-form objects.
    Objects,
    Audio,
    NoContent,
}

#[derive(Clone, Copy)]
enum Body {
    None,
    Object,
    Bytes,
}

struct Op {
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    body: Body,
    status: u16,
    ok: Ok,
    query: &'static [(&'static str, &'static str)],
}

const fn op(
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    ok: Ok,
) -> Op {
    Op {
        method,
        path,
        summary,
        tag,
        body: Body::None,
        status: 200,
        ok,
        query: &[],
    }
}

const fn with_body(mut o: Op, b: Body) -> Op {
    o.body = b;
    o
}

const fn with_query(mut o: Op, q: &'static [(&'static str, &'static str)]) -> Op {
    o.query = q;
    o
}

const fn with_status(mut o: Op, s: u16) -> Op {
    o.status = s;
    o
}

use HttpMethod::{Delete, Get, Patch, Post, Put};

/// The operations besides the object collections (see `routes` in `admin`).
const OPERATIONS: &[Op] = &[
    op(
        Get,
        "/api/status",
        "Service status: role, calls in progress, draining",
        "service",
        Ok::Object,
    ),
    op(
        Post,
        "/api/service/drain",
        "Stop taking calls; exit when the last one ends",
        "service",
        Ok::Object,
    ),
    op(
        Get,
        "/api/media/timing",
        "How late media timers fire",
        "service",
        Ok::Object,
    ),
    op(
        Post,
        "/api/certificate/reload",
        "Serve the enabled certificate to new TLS handshakes",
        "service",
        Ok::Object,
    ),
    op(
        Post,
        "/api/autoattendants/reload",
        "Re-read imported prompts and the model",
        "objects",
        Ok::Object,
    ),
    with_query(
        op(
            Get,
            "/api/mailboxes/{ext}/messages",
            "A mailbox's messages, oldest first",
            "messages",
            Ok::List("MessageView"),
        ),
        &[
            ("q", "Caller name words, or digits of the number"),
            ("status", "new, saved or deleted"),
            ("from", "First day, YYYY-MM-DD in the mailbox's zone"),
            ("to", "Last day, YYYY-MM-DD in the mailbox's zone"),
        ],
    ),
    with_body(
        op(
            Post,
            "/api/mailboxes/{ext}/pin",
            "Set-UMMailboxPIN: {pin} or {generate: true}, and expired",
            "mailboxes",
            Ok::Object,
        ),
        Body::Object,
    ),
    op(
        Post,
        "/api/mailboxes/{ext}/unlock",
        "Clear a lockout",
        "mailboxes",
        Ok::Object,
    ),
    op(
        Get,
        "/api/mailboxes/{ext}/greetings/{kind}",
        "A greeting (personal, away, name) as a file",
        "mailboxes",
        Ok::Audio,
    ),
    with_query(
        with_body(
            op(
                Put,
                "/api/mailboxes/{ext}/greetings/{kind}",
                "Import a greeting file (any format the phone import takes)",
                "mailboxes",
                Ok::Object,
            ),
            Body::Bytes,
        ),
        &[("file", "the file's name, for its format")],
    ),
    op(
        Delete,
        "/api/mailboxes/{ext}/greetings/{kind}",
        "Remove a greeting",
        "mailboxes",
        Ok::Object,
    ),
    op(
        Get,
        "/api/messages/{id}",
        "One message",
        "messages",
        Ok::Json("MessageView"),
    ),
    with_status(
        op(
            Delete,
            "/api/messages/{id}",
            "Remove a message for good",
            "messages",
            Ok::NoContent,
        ),
        204,
    ),
    with_body(
        op(
            Post,
            "/api/messages/{id}/status",
            "Mark a message new, saved or deleted: {status}",
            "messages",
            Ok::Json("MessageView"),
        ),
        Body::Object,
    ),
    op(
        Get,
        "/api/messages/{id}/audio.wav",
        "A message's audio as WAV",
        "messages",
        Ok::Audio,
    ),
    op(
        Get,
        "/api/messages/{id}/audio.ogg",
        "A message's audio as Ogg/Opus",
        "messages",
        Ok::Audio,
    ),
    with_body(
        op(
            Post,
            "/api/changes",
            "Several object changes as one commit",
            "objects",
            Ok::Object,
        ),
        Body::Object,
    ),
    op(
        Get,
        "/api/config",
        "The whole model as TOML (export): {version, toml}",
        "objects",
        Ok::Object,
    ),
    with_body(
        op(
            Post,
            "/api/config",
            "Replace the model (import): {toml, dry_run}",
            "objects",
            Ok::Object,
        ),
        Body::Object,
    ),
    with_query(
        op(
            Get,
            "/api/audit",
            "Audited changes, oldest first",
            "objects",
            Ok::List("AuditRecord"),
        ),
        &[("after", "versions above"), ("limit", "at most")],
    ),
    op(
        Get,
        "/api/tokens",
        "API tokens (ids and roles)",
        "tokens",
        Ok::Objects,
    ),
    with_status(
        with_body(
            op(
                Post,
                "/api/tokens",
                "A new token: {role, label}",
                "tokens",
                Ok::Object,
            ),
            Body::Object,
        ),
        201,
    ),
    with_status(
        op(
            Delete,
            "/api/tokens/{id}",
            "Revoke a token",
            "tokens",
            Ok::NoContent,
        ),
        204,
    ),
    op(
        Get,
        "/api/calls",
        "Get-UMActiveCalls: the calls in progress",
        "calls",
        Ok::List("ActiveCall"),
    ),
    with_query(
        op(
            Get,
            "/api/cdrs",
            "Get-UMCallDataRecord",
            "calls",
            Ok::List("Cdr"),
        ),
        &[
            ("since", "RFC 3339"),
            ("mailbox", "extension"),
            ("gateway", "IP gateway"),
            ("limit", "at most"),
        ],
    ),
    with_query(
        op(
            Get,
            "/api/cdrs/summary",
            "Get-UMCallSummaryReport",
            "calls",
            Ok::List("SummaryRow"),
        ),
        &[("group_by", "day or month"), ("since", "RFC 3339")],
    ),
];

fn json_of(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn component(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

fn free_object() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .build()
        .into()
}

fn operation(o: &Op, params: &[&str], kind: Option<Kind>) -> utoipa::openapi::path::Operation {
    let mut b = OperationBuilder::new()
        .summary(Some(o.summary.to_string()))
        .tag(o.tag)
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    for p in params {
        b = b.parameter(
            ParameterBuilder::new()
                .name(*p)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(String::schema())),
        );
    }
    for (q, what) in o.query {
        b = b.parameter(
            ParameterBuilder::new()
                .name(*q)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(*what))
                .schema(Some(if matches!(*q, "limit" | "after") {
                    u64::schema()
                } else {
                    String::schema()
                })),
        );
    }
    match o.body {
        Body::None => {}
        Body::Object => {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json_of(free_object()))
                    .build(),
            ))
        }
        Body::Bytes => {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/octet-stream",
                        json_of(ObjectBuilder::new().schema_type(Type::String).format(Some(
                            utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Binary,
                            ),
                        ))),
                    )
                    .build(),
            ))
        }
    }
    let ok = match o.ok {
        Ok::Json(name) => ResponseBuilder::new()
            .description("done")
            .content("application/json", json_of(component(name))),
        Ok::List(name) => ResponseBuilder::new().description("done").content(
            "application/json",
            json_of(ArrayBuilder::new().items(component(name))),
        ),
        Ok::Object => ResponseBuilder::new()
            .description("done")
            .content("application/json", json_of(free_object())),
        Ok::Objects => ResponseBuilder::new().description("done").content(
            "application/json",
            json_of(ArrayBuilder::new().items(RefOr::T(free_object()))),
        ),
        Ok::Audio => {
            let bin = || {
                json_of(ObjectBuilder::new().schema_type(Type::String).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Binary,
                    ),
                )))
            };
            ResponseBuilder::new()
                .description("the audio file")
                .content("audio/wav", bin())
                .content("audio/ogg", bin())
        }
        Ok::NoContent => ResponseBuilder::new().description("done"),
    };
    b = b.response(o.status.to_string(), ok.build());
    let _ = kind;
    for (code, what) in [
        (400, "malformed request"),
        (401, "no valid bearer token"),
        (403, "the token's role does not reach this"),
        (404, "no such object"),
        (
            409,
            "exists, in use, changed meanwhile, or a router (no store)",
        ),
        (422, "a rule broken: names object and field"),
        (503, "the store failed (disk full, I/O)"),
    ] {
        b = b.response(
            code.to_string(),
            ResponseBuilder::new()
                .description(what)
                .content("application/problem+json", json_of(component("Problem")))
                .build(),
        );
    }
    b.build()
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// An RFC 9457 problem, as every refusal is.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Problem {
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// `detail` again, for clients of earlier versions.
    error: String,
    /// The object kind, name and field a refusal names.
    object: Option<String>,
    name: Option<String>,
    field: Option<String>,
}

/// The document.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for o in OPERATIONS {
        paths.add_path_operation(
            o.path,
            vec![o.method.clone()],
            operation(o, &path_params(o.path), None),
        );
    }
    for kind in Kind::ALL {
        let coll: &'static str = Box::leak(format!("/api/{}", kind.path()).into_boxed_str());
        let one: &'static str = Box::leak(format!("/api/{}/{{key}}", kind.path()).into_boxed_str());
        let (list_ok, get_ok) = match kind {
            Kind::Gateway => (Ok::List("GatewayHealth"), Ok::Object),
            Kind::Mailbox => (Ok::Objects, Ok::Json("PinStatus")),
            _ => (Ok::Objects, Ok::Object),
        };
        let list = op(
            Get,
            coll,
            "List the objects of this kind",
            "objects",
            list_ok,
        );
        let create = with_status(
            with_body(
                op(
                    Post,
                    coll,
                    "Create one (201 + Location)",
                    "objects",
                    Ok::Object,
                ),
                Body::Object,
            ),
            201,
        );
        let get = op(Get, one, "One object", "objects", get_ok);
        let patch = with_body(
            op(
                Patch,
                one,
                "Change fields (JSON merge patch: null unsets)",
                "objects",
                Ok::Object,
            ),
            Body::Object,
        );
        let remove = op(
            Delete,
            one,
            "Remove (refused while in use, naming users)",
            "objects",
            Ok::Object,
        );
        for o in [list, create, get, patch, remove] {
            paths.add_path_operation(
                o.path,
                vec![o.method.clone()],
                operation(&o, &path_params(o.path), Some(kind)),
            );
        }
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .schema_from::<crate::store::MessageView>()
        .schema_from::<crate::store::MessageMeta>()
        .schema_from::<crate::store::MessageStatus>()
        .schema_from::<crate::media::g711::Law>()
        .schema_from::<crate::store::audio::Format>()
        .schema_from::<crate::store::pins::PinStatus>()
        .schema_from::<crate::store::cdr::Cdr>()
        .schema_from::<crate::store::cdr::CallType>()
        .schema_from::<crate::store::cdr::SummaryRow>()
        .schema_from::<crate::store::objects::AuditRecord>()
        .schema_from::<crate::actors::calls::ActiveCall>()
        .schema_from::<crate::events::EventRecord>()
        .schema_from::<crate::actors::monitor::GatewayHealth>()
        .schema_from::<crate::directory::GatewayTransport>()
        .schema_from::<crate::directory::GatewayState>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("openum admin API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "UM objects, messages, greetings, calls, call data records and tokens. \
                     Bearer tokens: `openum token new --role admin|mailbox:EXT`.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

pub async fn serve() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = DOC.get_or_init(|| document().to_pretty_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(text.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_with_every_collection() {
        let v: serde_json::Value = serde_json::to_value(super::document()).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        for k in crate::config::change::Kind::ALL {
            let p = format!("/api/{}/{{key}}", k.path());
            assert!(v["paths"][&p]["patch"].is_object(), "{p}");
        }
        assert!(v["components"]["schemas"]["Cdr"]["properties"]["mos"].is_object());
        assert_eq!(
            v["paths"]["/api/messages/{id}"]["get"]["responses"]["401"]["content"]["application/problem+json"]
                ["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
}
