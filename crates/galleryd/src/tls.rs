//! TLS for the HTTPS listener.
//!
//! Bearer-token clients (the Azure SDKs, `az`) refuse plain http, so galleryd serves HTTPS by
//! default. Unless `--tls-cert/--tls-key` name a certificate, galleryd creates a small local CA
//! once and a server certificate it issues for 127.0.0.1, ::1 and localhost, and keeps both in the
//! data directory so clients keep trusting them across restarts. Clients trust the CA's PEM
//! (`REQUESTS_CA_BUNDLE=<data-dir>/tls/ca.pem`). A CA plus a leaf, rather than one self-signed
//! leaf, is what every TLS stack accepts (webpki refuses a CA used as a leaf; some OpenSSL setups
//! refuse a leaf used as a CA).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What the HTTPS listener presents and what clients should trust.
pub struct TlsMaterial {
    /// rustls configuration of the listener.
    pub server_config: Arc<ServerConfig>,
    /// The PEM clients should trust (the local CA's, or the given certificate).
    pub trust_pem: String,
    /// Where `trust_pem` is on disk, if it is.
    pub trust_path: Option<PathBuf>,
}

/// A TLS setup failure.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no usable PEM certificate or key")]
    Pem(PathBuf),
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), TlsError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| TlsError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// PEMs of a local CA and a server certificate it issued.
struct Generated {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn generate() -> Result<Generated, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "galleryd local CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "galleryd");
    let ca_key = KeyPair::generate()?;
    let ca_certificate = ca_params.self_signed(&ca_key)?;

    let mut server_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "galleryd");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let server_key = KeyPair::generate()?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_certificate = server_params.signed_by(&server_key, &issuer)?;

    Ok(Generated {
        ca_pem: ca_certificate.pem(),
        chain_pem: format!("{}{}", server_certificate.pem(), ca_certificate.pem()),
        key_pem: server_key.serialize_pem(),
    })
}

fn server_config(
    chain_pem: &str,
    key_pem: &str,
    source: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(source.to_path_buf()))?;
    if chain.is_empty() {
        return Err(TlsError::Pem(source.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| TlsError::Pem(source.to_path_buf()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Loads `--tls-cert/--tls-key`.
pub fn from_files(certificate: &Path, key: &Path) -> Result<TlsMaterial, TlsError> {
    let chain_pem = read(certificate)?;
    let key_pem = read(key)?;
    Ok(TlsMaterial {
        server_config: server_config(&chain_pem, &key_pem, certificate)?,
        trust_pem: chain_pem,
        trust_path: Some(certificate.to_path_buf()),
    })
}

/// The generated certificate in `directory`, created on first use.
pub fn generated_in(directory: &Path) -> Result<TlsMaterial, TlsError> {
    let (ca_path, chain_path, key_path) = (
        directory.join("ca.pem"),
        directory.join("server.pem"),
        directory.join("server-key.pem"),
    );
    if !(ca_path.exists() && chain_path.exists() && key_path.exists()) {
        let generated = generate()?;
        write(&key_path, &generated.key_pem)?;
        write(&chain_path, &generated.chain_pem)?;
        write(&ca_path, &generated.ca_pem)?;
    }
    let trust_pem = read(&ca_path)?;
    Ok(TlsMaterial {
        server_config: server_config(&read(&chain_path)?, &read(&key_path)?, &chain_path)?,
        trust_pem,
        trust_path: Some(ca_path.canonicalize().unwrap_or(ca_path)),
    })
}

/// A certificate that exists only in memory (`--in-memory`).
pub fn ephemeral() -> Result<TlsMaterial, TlsError> {
    let generated = generate()?;
    Ok(TlsMaterial {
        server_config: server_config(
            &generated.chain_pem,
            &generated.key_pem,
            Path::new("<memory>"),
        )?,
        trust_pem: generated.ca_pem,
        trust_path: None,
    })
}
