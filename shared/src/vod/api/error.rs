//! How a VOD API call fails, in the terms a caller decides on: retry or not, and why.

/// Why a VOD API call failed.
#[derive(Debug, thiserror::Error)]
pub enum VodApiError {
    /// VOD answered with `Response.Error`.
    #[error("VOD {action}: {code}: {message} (RequestId {request_id})")]
    Api {
        action: &'static str,
        code: String,
        message: String,
        request_id: String,
    },
    /// No answer: connection refused or reset, TLS, or the attempt timed out.
    #[error("VOD {action}: no answer: {detail}")]
    Network {
        action: &'static str,
        /// Which way the attempt failed.
        failure: NetworkFailure,
        /// The cause chain, for people.
        detail: String,
    },
    /// The call's budget ran out before an attempt could start.
    #[error("VOD {action}: no answer: no time left in this call's budget")]
    OutOfTime { action: &'static str },
    /// A non-200 status without an error body (a proxy or load balancer in between).
    #[error("VOD {action}: HTTP {status} without an API error")]
    Status { action: &'static str, status: u16 },
    /// An answer that is not the documented shape.
    #[error("VOD {action}: unexpected answer: {detail}")]
    Decode {
        action: &'static str,
        detail: String,
    },
}

impl VodApiError {
    /// The TencentCloud error code, for [`VodApiError::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: throttling, internal errors, 5xx/429 and
    /// network failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { code, .. } => {
                code.starts_with("RequestLimitExceeded") || code.starts_with("InternalError")
            }
            Self::Network { .. } | Self::OutOfTime { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Decode { .. } => false,
        }
    }

    /// Whether VOD refused a parameter (`InvalidParameter…`, `InvalidParameterValue…`): what
    /// `ConfirmEvents` is documented to answer for a handle past its 30 s window.
    pub(crate) fn is_invalid_parameter(&self) -> bool {
        self.code()
            .is_some_and(|code| code.starts_with("InvalidParameter"))
    }
}

/// How an attempt got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The attempt's timeout passed first.
    TimedOut,
    /// No connection: refused, unreachable, DNS, TLS.
    Connect,
    /// The connection failed later (reset, a broken body).
    Other,
}
