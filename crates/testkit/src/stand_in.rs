//! Stand-in servers for tests of what must never be sent.

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A loopback stand-in that fails the test (when dropped) if any request reached it.
pub async fn server_that_must_not_be_reached() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}
