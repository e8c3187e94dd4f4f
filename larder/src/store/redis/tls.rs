//! Redis over TLS (feature `redis-tls`): a client trusting a CA the caller gives, and which
//! of the redis crate's errors mean that the server's certificate was refused.
//!
//! The redis crate does the TLS (rustls, through tokio-rustls); larder only picks ring as
//! rustls's crypto provider (the crate leaves the choice to its user) and hands it the CA.

use redis::{Client, IntoConnectionInfo, TlsCertificates};

use crate::error::Error;

/// Makes sure rustls has a process-wide crypto provider, installing ring's if none is: the
/// redis crate builds its TLS settings with the process default, and rustls panics when it
/// cannot tell which provider to use (as when a program enables two). A provider the
/// program installed itself is kept.
pub(super) fn ensure_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err: another thread installed one meanwhile, which is as good. ring rather than
        // aws-lc-rs (rustls's default), which needs cmake and a C toolchain to build;
        // rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key
        // exchange. A program that wants it installs aws-lc-rs's provider first.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
    }
}

/// A client for the `rediss://` URL `url` that trusts the authorities in `root_ca_pem` only.
/// Errors never quote the URL.
pub(super) fn client_with_ca(url: &str, root_ca_pem: &[u8]) -> Result<Client, Error> {
    if !url.starts_with("rediss://") {
        return Err(Error::config(
            "a Redis connection with a CA takes a rediss:// URL",
        ));
    }
    if !root_ca_pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(Error::config(
            "the Redis CA holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    ensure_provider();
    let info = url
        .into_connection_info()
        .map_err(|_| Error::config("not a Redis URL (rediss://[:password@]host:port[/db])"))?;
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert: Some(root_ca_pem.to_vec()),
    };
    Client::build_with_tls(info, certificates)
        .map_err(|_| Error::config("the Redis CA is not a PEM certificate rustls can read"))
}

/// Whether `error` is a TLS handshake that refused the server's certificate (an unknown
/// issuer, a name that does not match, an expired one). The redis crate keeps rustls's error
/// behind an `io::Error` it does not expose, so this reads rustls's message for it.
pub(super) fn refused_certificate(error: &redis::RedisError) -> bool {
    error.to_string().contains("invalid peer certificate")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_ca_needs_a_tls_url_and_a_certificate() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let plain = client_with_ca("redis://:hunter2@127.0.0.1:1", pem).unwrap_err();
        assert_eq!(plain.kind(), ErrorKind::Config);
        assert!(!plain.to_string().contains("hunter2"));
        let empty = client_with_ca("rediss://127.0.0.1:1", b"not pem").unwrap_err();
        assert_eq!(empty.kind(), ErrorKind::Config);
    }
}
