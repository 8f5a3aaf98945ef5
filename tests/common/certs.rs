//! Certificates made at test time with rcgen: a private CA and server certificates it signs
//! (for given names, or long expired), written as PEM files in a temporary directory.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd};

/// A private CA and the directory its files live in (removed on drop).
pub struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, as PEM file paths.
pub struct ServerCert {
    pub cert: String,
    pub key: String,
}

impl ServerCert {
    /// `serve`'s arguments for this certificate.
    pub fn serve_args(&self) -> [&str; 4] {
        ["--tls-cert", &self.cert, "--tls-key", &self.key]
    }
}

impl Pki {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "rtc-assist-pki-{}-{}",
            std::process::id(),
            super::coturn::free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "rtc-assist test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca }
    }

    /// The directory the files are written to (removed on drop).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The CA certificate's PEM file.
    pub fn ca(&self) -> String {
        self.path("ca.pem")
    }

    /// A path in the directory (the file need not exist).
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A certificate for `names` (DNS names or IP addresses) signed by the CA.
    pub fn server(&self, stem: &str, names: &[&str]) -> ServerCert {
        self.issue(
            stem,
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap(),
        )
    }

    /// A certificate for localhost and 127.0.0.1 that expired in 2021.
    pub fn expired(&self, stem: &str) -> ServerCert {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
        self.issue(stem, params)
    }

    fn issue(&self, stem: &str, mut params: CertificateParams) -> ServerCert {
        params.distinguished_name.push(DnType::CommonName, stem);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (cert_path, key_path) = (self.path(&format!("{stem}.pem")), self.path(&format!("{stem}.key")));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        ServerCert { cert: cert_path, key: key_path }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
