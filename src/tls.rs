//! TLS in one place, on rustls with the ring provider: the client configuration (the system
//! roots plus extra CA files; verification is never skipped), the client handshake shared by
//! `wss://` signaling and `turns:` links, its failures named in plain words, and the server
//! configuration of `serve --tls-cert/--tls-key`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, CertificateError, ClientConfig, RootCertStore, ServerConfig};

/// A byte stream: plain TCP or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

/// A CA file (`--ca`, `--turn-ca`) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("{}: {cause}", path.display())]
    Read { path: PathBuf, cause: rustls::pki_types::pem::Error },
    #[error("{}: no PEM certificate in it", path.display())]
    Empty { path: PathBuf },
    #[error("{}: {cause}", path.display())]
    Invalid { path: PathBuf, cause: rustls::Error },
}

/// The certificate and key of `serve --tls-cert/--tls-key` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("--tls-cert {}: {cause}", path.display())]
    Cert { path: PathBuf, cause: rustls::pki_types::pem::Error },
    #[error("--tls-cert {}: no PEM certificate in it", path.display())]
    NoCert { path: PathBuf },
    #[error("--tls-key {}: {cause}", path.display())]
    Key { path: PathBuf, cause: rustls::pki_types::pem::Error },
    #[error("--tls-key {}: no PEM private key in it", path.display())]
    NoKey { path: PathBuf },
    #[error("--tls-key {} is not the key of --tls-cert {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("--tls-cert/--tls-key: {0}")]
    Unusable(rustls::Error),
}

/// Why a client handshake failed, in the words a user acts on.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("the certificate of {name} is not trusted (unknown issuer)")]
    UnknownIssuer { name: String },
    #[error("the certificate is not valid for {asked}{}", presented_names(.presented))]
    NameMismatch { asked: String, presented: Vec<String> },
    #[error("the certificate of {name} has expired{}", ago(*.seconds))]
    Expired { name: String, seconds: Option<u64> },
    #[error("the certificate of {name} is not valid yet")]
    NotYetValid { name: String },
    #[error("the server did not answer with TLS (a plain, non-TLS server?)")]
    NotTls,
    #[error("{name} is not a valid TLS server name")]
    BadName { name: String },
    #[error("TLS handshake with {name} failed: {cause}")]
    Other { name: String, cause: String },
}

fn presented_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        _ => format!(" (it names {})", names.join(", ")),
    }
}

fn ago(seconds: Option<u64>) -> String {
    match seconds {
        None => String::new(),
        Some(s) if s >= 86_400 => format!(" ({} day(s) ago)", s / 86_400),
        Some(s) if s >= 3_600 => format!(" ({} hour(s) ago)", s / 3_600),
        Some(s) => format!(" ({s} s ago)"),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(default_provider())
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

fn verifying(roots: RootCertStore) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Trusted roots: the system's only.
pub fn system_trust() -> Arc<ClientConfig> {
    verifying(system_roots())
}

/// Trusted roots: the system's, plus every certificate in `extra_cas` (PEM files).
pub fn client_config(extra_cas: &[PathBuf]) -> Result<Arc<ClientConfig>, CaError> {
    let mut roots = system_roots();
    for path in extra_cas {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .map_err(|cause| CaError::Read { path: path.clone(), cause })?
        {
            let cert = cert.map_err(|cause| CaError::Read { path: path.clone(), cause })?;
            roots.add(cert).map_err(|cause| CaError::Invalid { path: path.clone(), cause })?;
            added += 1;
        }
        if added == 0 {
            return Err(CaError::Empty { path: path.clone() });
        }
    }
    Ok(verifying(roots))
}

/// The client configuration for `--ca FILE…`: `None` without any, meaning the system roots.
pub fn extra_trust(cas: &[PathBuf]) -> Result<Option<Arc<ClientConfig>>, CaError> {
    if cas.is_empty() { Ok(None) } else { client_config(cas).map(Some) }
}

/// The TLS handshake over `stream`, verifying that the certificate is trusted and names `host`
/// (a DNS name or an IP address, brackets allowed).
pub async fn connect(
    stream: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>, HandshakeError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| HandshakeError::BadName { name: host.to_owned() })?;
    TlsConnector::from(config).connect(name, stream).await.map_err(|e| classify(&e, host))
}

/// Names the cause of a failed client handshake (tokio-rustls wraps rustls' error in `io::Error`).
pub fn classify(e: &io::Error, host: &str) -> HandshakeError {
    let name = host.to_owned();
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            // The server closed instead of answering the ClientHello.
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => HandshakeError::NotTls,
            _ => HandshakeError::Other { name, cause: e.to_string() },
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => HandshakeError::UnknownIssuer { name },
            CertificateError::NotValidForName => {
                HandshakeError::NameMismatch { asked: name, presented: vec![] }
            }
            CertificateError::NotValidForNameContext { presented, .. } => HandshakeError::NameMismatch {
                asked: name,
                presented: presented.iter().map(|n| plain_name(n)).collect(),
            },
            CertificateError::Expired => HandshakeError::Expired { name, seconds: None },
            CertificateError::ExpiredContext { time, not_after } => {
                HandshakeError::Expired { name, seconds: Some(elapsed(*not_after, *time)) }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                HandshakeError::NotYetValid { name }
            }
            other => HandshakeError::Other { name, cause: format!("certificate: {other:?}") },
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            HandshakeError::NotTls
        }
        other => HandshakeError::Other { name, cause: other.to_string() },
    }
}

/// `otherhost` from webpki's `DnsName("otherhost")`, `127.0.0.1` from `IpAddress(127.0.0.1)`.
fn plain_name(presented: &str) -> String {
    match presented.strip_suffix(')').and_then(|r| r.split_once('(')) {
        Some((_, inner)) => inner.trim_matches('"').to_owned(),
        None => presented.to_owned(),
    }
}

fn elapsed(from: UnixTime, to: UnixTime) -> u64 {
    to.as_secs().saturating_sub(from.as_secs())
}

/// The server side: the certificate chain and private key in PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ServerTlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|cause| ServerTlsError::Cert { path: cert.to_owned(), cause })?;
    if chain.is_empty() {
        return Err(ServerTlsError::NoCert { path: cert.to_owned() });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|cause| match cause {
        rustls::pki_types::pem::Error::NoItemsFound => ServerTlsError::NoKey { path: key.to_owned() },
        cause => ServerTlsError::Key { path: key.to_owned(), cause },
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                ServerTlsError::Mismatch { cert: cert.to_owned(), key: key.to_owned() }
            }
            other => ServerTlsError::Unusable(other),
        })?;
    // WebSocket upgrades need HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn certificate_errors_are_named() {
        let unknown = classify(&wrapped(CertificateError::UnknownIssuer.into()), "localhost");
        assert_eq!(unknown.to_string(), "the certificate of localhost is not trusted (unknown issuer)");
        let mismatch = classify(
            &wrapped(
                CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("localhost").unwrap(),
                    presented: vec!["DnsName(\"otherhost\")".into()],
                }
                .into(),
            ),
            "localhost",
        );
        assert!(matches!(&mismatch, HandshakeError::NameMismatch { asked, .. } if asked == "localhost"));
        assert_eq!(mismatch.to_string(), "the certificate is not valid for localhost (it names otherhost)");
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        let expired = classify(
            &wrapped(
                CertificateError::ExpiredContext {
                    time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(10 * 86_400)),
                    not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(7 * 86_400)),
                }
                .into(),
            ),
            "localhost",
        );
        assert_eq!(expired.to_string(), "the certificate of localhost has expired (3 day(s) ago)");
        let early = classify(&wrapped(CertificateError::NotValidYet.into()), "h");
        assert!(matches!(early, HandshakeError::NotYetValid { .. }));
    }

    #[test]
    fn a_plain_server_is_not_tls() {
        let garbage = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert!(matches!(classify(&wrapped(garbage), "h"), HandshakeError::NotTls));
        let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(classify(&closed, "h"), HandshakeError::NotTls));
    }

    #[test]
    fn bad_ca_files_are_named() {
        let dir = std::env::temp_dir().join(format!("rtc-assist-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = client_config(std::slice::from_ref(&missing)).unwrap_err();
        assert!(e.to_string().starts_with(&missing.display().to_string()), "{e}");
        let text = dir.join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();
        assert!(matches!(client_config(&[text]).unwrap_err(), CaError::Empty { .. }));
        assert!(extra_trust(&[]).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
