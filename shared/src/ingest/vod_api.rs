//! Where the events side's VOD API client and key pair come from: the environment and the
//! secret. Pull mode takes events from VOD's queue with them, and both modes delete media that
//! breaks a limit (`super::enforce`), so they live below both.

use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::KeySet;
use crate::vod::api::{ApiCredentials, DEFAULT_ENDPOINT, Endpoint, VodApi};

/// The VOD API client from `VOD_API_ENDPOINT` (default [`DEFAULT_ENDPOINT`]), `VOD_API_REGION`
/// (optional: VOD's API is region-less) and `VOD_SUB_APP_ID` (optional).
pub fn vod_api(env: &Env) -> Result<VodApi, ConfigError> {
    let raw = env
        .non_empty("VOD_API_ENDPOINT")
        .unwrap_or(DEFAULT_ENDPOINT);
    let endpoint = Endpoint::parse(raw)
        .map_err(|why| ConfigError::invalid("VOD_API_ENDPOINT", format!("{why}, got {raw:?}")))?;
    let sub_app_id = env.parse_opt("VOD_SUB_APP_ID", "a non-negative integer")?;
    let region = env.non_empty("VOD_API_REGION").map(str::to_owned);
    if let Some(region) = &region
        && !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ConfigError::invalid(
            "VOD_API_REGION",
            format!("expected a region such as ap-guangzhou, got {region:?}"),
        ));
    }
    let api = VodApi::new(endpoint, sub_app_id)
        .map_err(|why| ConfigError::invalid("VOD_API_ENDPOINT", why))?;
    Ok(match region {
        Some(region) => api.with_region(region),
        None => api,
    })
}

/// `VOD_SECRET_ID` and `VOD_SECRET_KEY` from the environment or the secret.
pub fn api_credentials(keys: &KeySet) -> Result<ApiCredentials, ConfigError> {
    Ok(ApiCredentials::new(
        keys.require("VOD_SECRET_ID")?.expose(),
        keys.require("VOD_SECRET_KEY")?.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_variable() {
        let err = vod_api(&Env::from_pairs([(
            "VOD_API_ENDPOINT",
            "http://example.com",
        )]))
        .unwrap_err();
        assert_eq!(err.var, "VOD_API_ENDPOINT");
        let err = vod_api(&Env::from_pairs([("VOD_SUB_APP_ID", "x")])).unwrap_err();
        assert_eq!(err.var, "VOD_SUB_APP_ID");
        let err = vod_api(&Env::from_pairs([("VOD_API_REGION", "Bad Region")])).unwrap_err();
        assert_eq!(err.var, "VOD_API_REGION");
    }

    #[test]
    fn credentials_come_from_the_key_set() {
        let keys = KeySet::from_env(&Env::from_pairs([("VOD_SECRET_ID", "AKID1")]));
        assert_eq!(api_credentials(&keys).unwrap_err().var, "VOD_SECRET_KEY");
    }
}
