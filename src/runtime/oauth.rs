//! OAuth 2.1 for remote MCP servers (the MCP authorization specification:
//! protected-resource metadata, authorization-server metadata, dynamic client
//! registration, PKCE) through rmcp's `auth` support. The credentials (client
//! id, access and refresh tokens) live in the secret store under one name per
//! instance, and nowhere else: never on screen, in a log, an event or argv.

use crate::secrets::{SecretStore, SecretValue};
use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationRequest, AuthorizationSession, CredentialStore,
    StoredCredentials,
};
use uuid::Uuid;

/// Why a login, or the use of its tokens, failed, in one sentence (never
/// with a token in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("cannot find how {url} wants a login (its OAuth metadata): {why}")]
    Discovery { url: String, why: String },
    #[error("the authorization server refused to register aacon as a client: {0}")]
    Registration(String),
    #[error("the pasted URL is not the redirect of this login: {0}")]
    Callback(String),
    #[error("the authorization server refused the code: {0}")]
    Exchange(String),
    #[error("{0}")]
    Store(String),
}

/// The secret-store name of an instance's OAuth credentials.
pub fn secret_name(id: Uuid) -> String {
    format!("oauth.{}", id.simple())
}

/// An instance's OAuth credentials in the secret store, as rmcp's
/// credential store (rmcp saves a refreshed token through it).
#[derive(Clone)]
pub struct SecretCredentials {
    store: SecretStore,
    name: String,
}

impl std::fmt::Debug for SecretCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretCredentials({})", self.name)
    }
}

impl SecretCredentials {
    pub fn new(store: SecretStore, id: Uuid) -> SecretCredentials {
        SecretCredentials {
            store,
            name: secret_name(id),
        }
    }

    /// Whether a login was kept for this instance.
    pub fn present(&self) -> bool {
        matches!(self.store.get(&self.name), Ok(Some(_)))
    }

    /// The credentials kept, if any.
    pub fn read(&self) -> Result<Option<StoredCredentials>, OAuthError> {
        let Some(v) = self
            .store
            .get(&self.name)
            .map_err(|e| OAuthError::Store(e.to_string()))?
        else {
            return Ok(None);
        };
        serde_json::from_str(v.expose()).map(Some).map_err(|_| {
            OAuthError::Store(format!(
                "the secret '{}' does not hold OAuth credentials; log in again",
                self.name
            ))
        })
    }

    /// Forget the login; false when there was none.
    pub fn remove(&self) -> Result<bool, OAuthError> {
        self.store
            .remove(&self.name)
            .map_err(|e| OAuthError::Store(e.to_string()))
    }
}

fn store_error(e: impl std::fmt::Display) -> AuthError {
    AuthError::CredentialStoreError(e.to_string())
}

#[async_trait::async_trait]
impl CredentialStore for SecretCredentials {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        self.read().map_err(store_error)
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let json = serde_json::to_string(&credentials).map_err(store_error)?;
        self.store
            .set(&self.name, &SecretValue::new(json))
            .map_err(store_error)
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.remove().map(|_| ()).map_err(store_error)
    }
}

/// rmcp's error words, without the type names; bounded.
fn words(e: &AuthError) -> String {
    let s = e.to_string();
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    one.chars().take(300).collect()
}

/// A manager for the server at `url` that keeps its tokens in `creds`,
/// with the server's metadata discovered.
async fn manager(url: &str, creds: SecretCredentials) -> Result<AuthorizationManager, OAuthError> {
    let discovery = |e: AuthError| OAuthError::Discovery {
        url: url.to_string(),
        why: words(&e),
    };
    let mut m = AuthorizationManager::new(url).await.map_err(discovery)?;
    m.set_credential_store(creds);
    let found = m.resolve_metadata().await.map_err(discovery)?;
    m.set_metadata(found.metadata);
    Ok(m)
}

/// A login under way: the authorization URL to open, then the redirect.
pub struct Login {
    session: AuthorizationSession,
}

impl Login {
    /// Discover the server's authorization server, register aacon with it
    /// (dynamic client registration) for `redirect_uri`, and make the
    /// authorization URL (PKCE, state).
    pub async fn begin(
        url: &str,
        redirect_uri: &str,
        creds: SecretCredentials,
    ) -> Result<Login, OAuthError> {
        let m = manager(url, creds).await?;
        let request = AuthorizationRequest::new(redirect_uri).with_client_name("aacon");
        let session = AuthorizationSession::new(m, request)
            .await
            .map_err(|(_, e)| match e {
                AuthError::RegistrationFailed(_) => OAuthError::Registration(words(&e)),
                other => OAuthError::Discovery {
                    url: url.to_string(),
                    why: words(&other),
                },
            })?;
        Ok(Login { session })
    }

    /// The URL to open in a browser, on any machine.
    pub fn url(&self) -> &str {
        self.session.get_authorization_url()
    }

    /// Finish with the URL the browser was redirected to (its code and
    /// state); the tokens go to the secret store.
    pub async fn finish(&self, redirected: &str) -> Result<(), OAuthError> {
        let redirected = redirected.trim();
        if !redirected.contains("code=") {
            return Err(OAuthError::Callback(
                "it has no code (copy the whole address the browser shows after the login)".into(),
            ));
        }
        self.session
            .handle_callback_url(redirected)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                AuthError::UrlError(_) | AuthError::AuthorizationFailed(_) => {
                    OAuthError::Callback(words(&e))
                }
                other => OAuthError::Exchange(words(&other)),
            })
    }
}

/// A manager with the instance's kept login, for the runtime's requests
/// (rmcp refreshes the access token before it expires and saves the new one
/// through `creds`); `None` when there is no usable login.
pub async fn authorized(
    url: &str,
    creds: SecretCredentials,
) -> Result<Option<AuthorizationManager>, OAuthError> {
    let mut m = manager(url, creds).await?;
    match m.initialize_from_store().await {
        Ok(true) => Ok(Some(m)),
        Ok(false) => Ok(None),
        Err(e) => Err(OAuthError::Store(words(&e))),
    }
}
