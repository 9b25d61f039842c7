//! [`Tls`] (feature `tls`): `wss://` served directly, with rustls through
//! tokio-rustls: a certificate chain and key from PEM files, reloadable
//! without a restart.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = wirehub::Tls::from_pem_files("cert.pem", "key.pem")?;
//! let server = wirehub::App::new().bind("0.0.0.0:8443").tls(tls.clone()).start().await?;
//! // Later (a renewed certificate, on SIGHUP): new connections get the new one.
//! tls.reload()?;
//! # drop(server);
//! # Ok(())
//! # }
//! ```
//!
//! Invariants: the TLS handshake is bounded by `handshake_timeout`, like the
//! HTTP request head after it; a failed reload keeps the certificate in use;
//! only HTTP/1.1 is offered by ALPN (a WebSocket upgrade needs it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::embedded::Embedded;
use super::http::{serve_io, Via};
use super::Shared;
use crate::sync::{read, write};

/// A TLS server configuration that can be swapped while serving. Cheap to
/// clone: every clone is the same configuration, so keep one to
/// [`reload`](Tls::reload) the one given to [`App::tls`](crate::App::tls).
///
/// ```no_run
/// # fn f() -> Result<(), wirehub::TlsError> {
/// let tls = wirehub::Tls::from_pem_files("/etc/wirehub/cert.pem", "/etc/wirehub/key.pem")?;
/// # drop(tls);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Tls(Arc<Inner>);

struct Inner {
    acceptor: RwLock<TlsAcceptor>,
    files: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.0.files).finish_non_exhaustive()
    }
}

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// No `CERTIFICATE` section in the certificate PEM.
    #[error("no certificate found in {0} (a PEM file with `-----BEGIN CERTIFICATE-----` sections)")]
    NoCertificate(String),
    /// No private key section in the key PEM.
    #[error("no private key found in {0} (a PEM file with a `-----BEGIN PRIVATE KEY-----` section)")]
    NoKey(String),
    /// A PEM section is malformed.
    #[error("malformed PEM in {0}: {1}")]
    Pem(String, String),
    /// rustls refused the certificate and key (a key that does not match).
    #[error("the certificate and key are not usable: {0}")]
    Rustls(#[from] rustls::Error),
    /// [`Tls::reload`] on a configuration that was not made from files.
    #[error("this TLS configuration was not made from files: nothing to reload")]
    NotFromFiles,
}

impl Tls {
    /// The certificate chain (leaf first) and private key (PKCS#8, PKCS#1
    /// or SEC1) in PEM files.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Tls, TlsError> {
        let files = (cert.as_ref().to_path_buf(), key.as_ref().to_path_buf());
        let config = config_from_files(&files.0, &files.1)?;
        Ok(Tls(Arc::new(Inner { acceptor: RwLock::new(TlsAcceptor::from(config)), files: Some(files) })))
    }

    /// The certificate chain and private key as PEM text.
    ///
    /// ```no_run
    /// # fn f(cert_pem: &str, key_pem: &str) -> Result<(), wirehub::TlsError> {
    /// let tls = wirehub::Tls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    /// # drop(tls);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Tls, TlsError> {
        let config = server_config(parse_certs(cert, "the certificate PEM")?, parse_key(key, "the key PEM")?)?;
        Ok(Tls::from_config(config))
    }

    /// A rustls configuration of your own (client certificates, another
    /// crypto provider). Offer `http/1.1` in its ALPN list, if any.
    /// [`replace`](Tls::replace) swaps it while serving.
    ///
    /// ```no_run
    /// # fn f(config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>, renewed: std::sync::Arc<tokio_rustls::rustls::ServerConfig>) {
    /// let tls = wirehub::Tls::from_config(config);
    /// tls.replace(renewed); // new connections use it
    /// # }
    /// ```
    pub fn from_config(config: Arc<ServerConfig>) -> Tls {
        Tls(Arc::new(Inner { acceptor: RwLock::new(TlsAcceptor::from(config)), files: None }))
    }

    /// Reads the PEM files again and serves new connections with what they
    /// hold now (connections already open keep theirs). On an error the
    /// configuration in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let Some((cert, key)) = &self.0.files else { return Err(TlsError::NotFromFiles) };
        let config = config_from_files(cert, key)?;
        *write(&self.0.acceptor) = TlsAcceptor::from(config);
        Ok(())
    }

    /// Serves new connections with `config` from now on (see
    /// [`from_config`](Tls::from_config) for an example).
    pub fn replace(&self, config: Arc<ServerConfig>) {
        *write(&self.0.acceptor) = TlsAcceptor::from(config);
    }

    /// The acceptor in use now (to run a TLS handshake of your own and
    /// hand the stream to [`Embedded::serve_connection`]; or see
    /// [`Embedded::serve_tls_connection`]).
    ///
    /// ```no_run
    /// # async fn f(tls: wirehub::Tls, app: wirehub::Embedded, tcp: tokio::net::TcpStream, peer: std::net::SocketAddr) -> std::io::Result<()> {
    /// let stream = tls.acceptor().accept(tcp).await?;
    /// app.serve_connection(stream, peer).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn acceptor(&self) -> TlsAcceptor {
        read(&self.0.acceptor).clone()
    }
}

impl Embedded {
    /// Serves one accepted connection over TLS: the TLS handshake (within
    /// `handshake_timeout`), then HTTP/1.1 as
    /// [`serve_connection`](Embedded::serve_connection) does, with
    /// [`Handshake::secure`](crate::Handshake::secure) true.
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded, tls: wirehub::Tls) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
    /// loop {
    ///     let (tcp, peer) = listener.accept().await?;
    ///     tokio::spawn(app.serve_tls_connection(&tls, tcp, peer));
    /// }
    /// # }
    /// ```
    pub fn serve_tls_connection<I>(
        &self,
        tls: &Tls,
        io: I,
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = ()> + Send + 'static
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        serve_tls(tls.clone(), io, peer, self.shared().clone())
    }
}

/// The TLS handshake, then HTTP on the decrypted stream.
pub(crate) async fn serve_tls<I>(tls: Tls, io: I, peer: SocketAddr, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let accepting = tls.acceptor().accept(io);
    match tokio::time::timeout(shared.config.handshake_timeout, accepting).await {
        Ok(Ok(stream)) => serve_io(stream, Via { peer, tls: true }, shared).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_elapsed) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

fn config_from_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source });
    let certs = parse_certs(&read(cert)?, &cert.display().to_string())?;
    let key = parse_key(&read(key)?, &key.display().to_string())?;
    server_config(certs, key)
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(what.to_owned(), e.to_string()))?;
    match certs.is_empty() {
        true => Err(TlsError::NoCertificate(what.to_owned())),
        false => Ok(certs),
    }
}

fn parse_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey(what.to_owned()),
        other => TlsError::Pem(what.to_owned(), other.to_string()),
    })
}

/// A server configuration with the `ring` provider (named explicitly, so no
/// process-wide default provider is needed) offering HTTP/1.1 only.
fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
