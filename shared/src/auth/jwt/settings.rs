//! What an operator configures for JWT verification, and why a configuration is refused.
//!
//! Refusing at start-up (and naming the variable) beats verifying against a JWKS fetched over
//! plain HTTP, or one whose URL would print credentials into the logs.

use super::MAX_LEEWAY_SECS;

/// Verification settings, read from the environment by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_JWKS_URL`: where the identity provider publishes its public keys. `https`, or `http`
    /// to a loopback host. Requires `issuer` and `audience`.
    pub jwks_url: Option<String>,
    /// `JWT_ISSUER`: the exact `iss` tokens must carry.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: the exact value `aud` must be or contain.
    pub audience: Option<String>,
    /// `JWT_LEEWAY_SECONDS`: clock skew tolerated on `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// `UPLOAD_SCOPE`: the scope a token must grant; `None` disables the scope check.
    pub upload_scope: Option<String>,
}

/// Why [`JwtSettings`] were refused. [`JwtSettingsError::var`] names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtSettingsError {
    /// The leeway exceeds [`MAX_LEEWAY_SECS`].
    #[error("must be at most {MAX_LEEWAY_SECS} seconds, got {0}")]
    LeewayTooLarge(u64),
    /// The JWKS URL does not parse.
    #[error("is not a valid absolute URL")]
    JwksUrlInvalid,
    /// The JWKS URL is neither `https` nor `http` to a loopback host.
    #[error("must use https (http is allowed only for 127.0.0.0/8, ::1 or localhost)")]
    JwksUrlNotHttps,
    /// The JWKS URL carries a user name or password, which would end up in logs.
    #[error("must not contain a user name or password")]
    JwksUrlCredentials,
    /// A JWKS URL is set without an issuer.
    #[error("is required when JWT_JWKS_URL is set")]
    IssuerRequired,
    /// A JWKS URL is set without an audience.
    #[error("is required when JWT_JWKS_URL is set")]
    AudienceRequired,
    /// The issuer or audience is set but blank; the field names the variable.
    #[error("must not be blank")]
    Blank(&'static str),
    /// The HTTP client for JWKS downloads could not be built.
    #[error("could not build the HTTP client for JWKS downloads")]
    HttpClient,
}

/// Parses and vets the JWKS URL: absolute, no credentials, `https` unless the host is loopback.
pub(super) fn parse_jwks_url(raw: &str) -> Result<reqwest::Url, JwtSettingsError> {
    let url = reqwest::Url::parse(raw).map_err(|_| JwtSettingsError::JwksUrlInvalid)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwtSettingsError::JwksUrlCredentials);
    }
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if crate::platform::outbound::is_loopback(&url) => Ok(url),
        _ => Err(JwtSettingsError::JwksUrlNotHttps),
    }
}

impl JwtSettingsError {
    /// The environment variable to fix.
    pub fn var(&self) -> &'static str {
        match self {
            Self::LeewayTooLarge(_) => "JWT_LEEWAY_SECONDS",
            Self::JwksUrlInvalid
            | Self::JwksUrlNotHttps
            | Self::JwksUrlCredentials
            | Self::HttpClient => "JWT_JWKS_URL",
            Self::IssuerRequired => "JWT_ISSUER",
            Self::AudienceRequired => "JWT_AUDIENCE",
            Self::Blank(var) => var,
        }
    }
}
