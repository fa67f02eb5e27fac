//! The test plays the browser through oidc-provider (test-peers/oidc-provider): its
//! devInteractions login page, then its consent page, until the provider redirects to the
//! client's callback.

use url::Url;

/// The base of the redirect URIs oidc-provider has registered for its clients (its
/// `CALLBACK_BASE`): Trestle's OAuth callbacks must be under it, so tests give this as the
/// connection manager's public URL.
pub const REGISTERED_CALLBACK_BASE: &str = "http://127.0.0.1:8787";

/// The most pages a walk visits before the test fails (login and consent take about six).
const MOST_PAGES: usize = 12;

/// A browser: a cookie store (oidc-provider's interaction cookies, Trestle's browser binding)
/// and no automatic redirects, so every hop is seen.
pub fn browser() -> reqwest::Client {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Walks from `provider_url` (the authorization URL Trestle sent the user to) through
/// oidc-provider's login form (any password signs `alice` in) and consent form, and returns
/// the first redirect target under `callback_base` without requesting it: the callback URL
/// with the `code` (or `error`) and `state` parameters. Fails the test when a page answers
/// an error, a form post does not redirect, or no callback comes within a dozen pages.
pub async fn walk_login_and_consent(
    browser: &reqwest::Client,
    provider_url: &Url,
    callback_base: &str,
) -> Url {
    let mut next = provider_url.clone();
    for _ in 0..MOST_PAGES {
        let response = browser.get(next.clone()).send().await.unwrap();
        let status = response.status();
        let target = if status.is_redirection() {
            redirect_target(&next, &response)
        } else {
            let body = response.text().await.unwrap();
            assert!(
                status.is_success(),
                "provider page {next} answered {status}: {body}"
            );
            let prompt = if body.contains("value=\"login\"") || body.contains("name=\"login\"") {
                "login"
            } else {
                "consent"
            };
            let form: &[(&str, &str)] = if prompt == "login" {
                &[("prompt", "login"), ("login", "alice"), ("password", "any")]
            } else {
                &[("prompt", "consent")]
            };
            let posted = browser.post(next.clone()).form(form).send().await.unwrap();
            assert!(
                posted.status().is_redirection(),
                "posting the {prompt} form of {next} answered {}",
                posted.status()
            );
            redirect_target(&next, &posted)
        };
        if target.as_str().starts_with(callback_base) {
            return target;
        }
        next = target;
    }
    panic!("oidc-provider never redirected to a callback under {callback_base}");
}

/// The `Location` of a redirect, resolved against the page that answered it.
fn redirect_target(page: &Url, response: &reqwest::Response) -> Url {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("{page} redirected without a Location header"))
        .to_str()
        .unwrap();
    page.join(location)
        .unwrap_or_else(|error| panic!("{page} redirected to `{location}`: {error}"))
}
