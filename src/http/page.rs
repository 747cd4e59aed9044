//! The built-in operations page at `/`: one HTML file with its script, compiled into the
//! binary (no build step, no files to install). It reads the API every two seconds.

use actix_web::HttpResponse;

const INDEX: &str = include_str!("page/index.html");

pub(super) async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        ))
        .body(INDEX)
}
