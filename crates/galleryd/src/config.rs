//! galleryd's configuration: one struct, every option a flag, a `GALLERYD_*` environment variable
//! and a default, so `galleryd serve` with no arguments runs on embedded SQLite with zero setup.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use gallery_domain::identity::{
    DEVELOPMENT_TENANT_ID, Directory, Principal, Subscription, is_guid,
};
use gallery_domain::limits::Limits;
use gallery_store::StoreLocation;

/// An offline emulator of the Azure Compute Gallery resource provider.
#[derive(Debug, Parser)]
#[command(name = "galleryd", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// What to do (`serve` when omitted).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the emulator: the ARM API over HTTPS and HTTP (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Run only replication workers (no API), sharing the database and blob stores with `serve`.
    Worker,
    /// Print an access token galleryd accepts (for scripts and curl), signed with the key of the
    /// configured database.
    Token(TokenArguments),
}

/// What `galleryd token` issues.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TokenArguments {
    /// The principal: an object id, client id or user principal name (default: the development
    /// user, developer@galleryd.local).
    #[arg(long)]
    pub principal: Option<String>,
    /// The tenant the token is for (default: the principal's).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The audience (`aud`).
    #[arg(long, default_value = "https://management.azure.com/")]
    pub audience: String,
}

/// How ARM requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthenticationMode {
    /// A JWT's claims name the caller; galleryd's own tokens must verify; no token or an opaque one
    /// is the development principal.
    Claims,
    /// Only unexpired tokens galleryd signed, for Resource Manager's audience.
    Strict,
    /// No authentication: every request is the development principal's.
    None,
}

/// Whether ARM's request limits refuse requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Throttling {
    /// Count and report (`x-ms-ratelimit-remaining-*`), never refuse.
    Off,
    /// Refuse requests past the limits with 429 and `Retry-After`.
    On,
}

/// Where region blob stores keep replica and disk bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlobBackendKind {
    /// `<data-dir>/regions/<region>/` on local disk.
    Local,
    /// In memory (lost at exit).
    Memory,
    /// Azure Blob Storage or Azurite: one container per region (see the `--azure-storage-*` options).
    Azure,
}

/// How fast replication copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplicationProfile {
    /// As fast as the machine copies.
    Instant,
    /// Paced by `--replication-bandwidth-mbps`, so progress can be watched climbing.
    Realistic,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for machines.
    Json,
}

/// Every setting of galleryd.
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Where galleryd keeps its SQLite database, TLS certificate and endpoints.json.
    #[arg(
        long,
        env = "GALLERYD_DATA_DIR",
        default_value = ".galleryd",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database: `postgres://…` for Postgres, `sqlite://path` for another SQLite file. Default: SQLite
    /// in the data directory.
    #[arg(long, env = "GALLERYD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Keep everything in memory: nothing is written to disk, everything is lost at exit.
    #[arg(long, env = "GALLERYD_IN_MEMORY", global = true)]
    pub in_memory: bool,

    /// Address to listen on (0.0.0.0 to accept connections from other hosts, e.g. in a container).
    #[arg(
        long,
        env = "GALLERYD_BIND_ADDRESS",
        default_value = "127.0.0.1",
        global = true
    )]
    pub bind_address: IpAddr,

    /// HTTPS port (0 picks a free port).
    #[arg(
        long,
        env = "GALLERYD_HTTPS_PORT",
        default_value_t = 8443,
        global = true
    )]
    pub https_port: u16,

    /// Plain HTTP port, for curl (0 picks a free port).
    #[arg(
        long,
        env = "GALLERYD_HTTP_PORT",
        default_value_t = 8080,
        global = true
    )]
    pub http_port: u16,

    /// PEM certificate (chain) for HTTPS. Default: a certificate galleryd generates once into the data
    /// directory, issued by its own local CA for 127.0.0.1, ::1 and localhost.
    #[arg(long, env = "GALLERYD_TLS_CERT", requires = "tls_key", global = true)]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "GALLERYD_TLS_KEY", requires = "tls_cert", global = true)]
    pub tls_key: Option<PathBuf>,

    /// Refuse api-versions newer than the newest one galleryd knows (default: serve them, with a
    /// `Warning` header).
    #[arg(long, env = "GALLERYD_STRICT_API_VERSIONS", global = true)]
    pub strict_api_versions: bool,

    /// Items per page of list responses.
    #[arg(long, env = "GALLERYD_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub page_size: u32,

    /// Galleries allowed per subscription per region.
    #[arg(
        long,
        env = "GALLERYD_MAX_GALLERIES_PER_REGION",
        default_value_t = 100,
        global = true
    )]
    pub max_galleries_per_region: u32,

    /// Image definitions allowed per subscription per region.
    #[arg(
        long,
        env = "GALLERYD_MAX_IMAGE_DEFINITIONS_PER_REGION",
        default_value_t = 1000,
        global = true
    )]
    pub max_image_definitions_per_region: u32,

    /// Image versions allowed per subscription per region.
    #[arg(
        long,
        env = "GALLERYD_MAX_IMAGE_VERSIONS_PER_REGION",
        default_value_t = 10000,
        global = true
    )]
    pub max_image_versions_per_region: u32,

    /// More subscriptions to serve besides the development one: `SUBSCRIPTION_ID[:TENANT_ID]`
    /// (repeat the flag, or separate with commas in the variable).
    #[arg(
        long = "subscription",
        env = "GALLERYD_SUBSCRIPTIONS",
        value_delimiter = ',',
        global = true
    )]
    pub subscriptions: Vec<String>,

    /// A JSON file of more tenants, subscriptions and principals (see the README's identities
    /// section).
    #[arg(long, env = "GALLERYD_IDENTITIES", global = true)]
    pub identities: Option<PathBuf>,

    /// A JSON file of fault rules to install at start (an array of what `POST /_galleryd/faults`
    /// takes; see the README's test-suite section).
    #[arg(long, env = "GALLERYD_FAULTS", global = true)]
    pub faults: Option<PathBuf>,

    /// A service principal that may sign in with client credentials: `CLIENT_ID:SECRET[:TENANT_ID]`
    /// (repeat the flag, or separate with commas in the variable).
    #[arg(
        long = "service-principal",
        env = "GALLERYD_SERVICE_PRINCIPALS",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub service_principals: Vec<String>,

    /// How ARM requests are authenticated.
    #[arg(long = "auth", env = "GALLERYD_AUTH", value_enum, default_value_t = AuthenticationMode::Claims, global = true)]
    pub authentication: AuthenticationMode,

    /// Whether requests past ARM's per-subscription limits are refused.
    #[arg(long, env = "GALLERYD_THROTTLING", value_enum, default_value_t = Throttling::Off, global = true)]
    pub throttling: Throttling,

    /// Read requests per subscription per hour (ARM's limit).
    #[arg(
        long,
        env = "GALLERYD_THROTTLING_READS_PER_HOUR",
        default_value_t = 12_000,
        global = true
    )]
    pub throttling_reads_per_hour: u32,

    /// Write requests per subscription per hour (ARM's limit).
    #[arg(
        long,
        env = "GALLERYD_THROTTLING_WRITES_PER_HOUR",
        default_value_t = 1_200,
        global = true
    )]
    pub throttling_writes_per_hour: u32,

    /// Delete requests per subscription per hour (ARM's limit).
    #[arg(
        long,
        env = "GALLERYD_THROTTLING_DELETES_PER_HOUR",
        default_value_t = 15_000,
        global = true
    )]
    pub throttling_deletes_per_hour: u32,

    /// Most database connections (Postgres; SQLite uses one writer and up to 8 readers).
    #[arg(
        long,
        env = "GALLERYD_DATABASE_MAX_CONNECTIONS",
        default_value_t = 32,
        global = true
    )]
    pub database_max_connections: u32,

    /// Most resource documents kept in memory to answer reads without a database round trip
    /// (0 turns the cache off). On Postgres, changes by other processes are heard through LISTEN.
    #[arg(
        long,
        env = "GALLERYD_DOCUMENT_CACHE_CAPACITY",
        default_value_t = 10_000,
        global = true
    )]
    pub document_cache_capacity: usize,

    /// Where region blob stores keep disk, snapshot and replica bytes (`memory` with `--in-memory`).
    #[arg(long, env = "GALLERYD_BLOB_BACKEND", value_enum, default_value_t = BlobBackendKind::Local, global = true)]
    pub blob_backend: BlobBackendKind,

    /// Azure Storage account name (`--blob-backend azure`).
    #[arg(long, env = "GALLERYD_AZURE_STORAGE_ACCOUNT", global = true)]
    pub azure_storage_account: Option<String>,

    /// Azure Storage account key (`--blob-backend azure`).
    #[arg(
        long,
        env = "GALLERYD_AZURE_STORAGE_KEY",
        global = true,
        hide_env_values = true
    )]
    pub azure_storage_key: Option<String>,

    /// Blob endpoint of the account, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite
    /// (default: `https://<account>.blob.core.windows.net`).
    #[arg(long, env = "GALLERYD_AZURE_STORAGE_ENDPOINT", global = true)]
    pub azure_storage_endpoint: Option<String>,

    /// Prefix of the per-region container names (`<prefix><region>`).
    #[arg(
        long,
        env = "GALLERYD_AZURE_CONTAINER_PREFIX",
        default_value = "galleryd-",
        global = true
    )]
    pub azure_container_prefix: String,

    /// Replication jobs this process runs at once (`0`: no workers in this process).
    #[arg(long, env = "GALLERYD_WORKERS", default_value_t = 4, global = true)]
    pub workers: usize,

    /// Replica copies one job runs at once.
    #[arg(
        long,
        env = "GALLERYD_CONCURRENT_COPIES",
        default_value_t = 4,
        global = true
    )]
    pub concurrent_copies: usize,

    /// How fast replication copies.
    #[arg(long, env = "GALLERYD_REPLICATION_PROFILE", value_enum, default_value_t = ReplicationProfile::Instant, global = true)]
    pub replication_profile: ReplicationProfile,

    /// Bandwidth of copies under the realistic profile, in megabits per second.
    #[arg(
        long,
        env = "GALLERYD_REPLICATION_BANDWIDTH_MBPS",
        default_value_t = 100,
        global = true
    )]
    pub replication_bandwidth_mbps: u64,

    /// Bandwidth of the link between two regions under the realistic profile, in megabits per
    /// second, instead of `--replication-bandwidth-mbps`: `REGION:REGION=MBPS`, both directions
    /// (`westus:westus=1000` for in-region replicas; repeat the flag, or separate with commas).
    #[arg(
        long = "region-pair-bandwidth",
        env = "GALLERYD_REGION_PAIR_BANDWIDTHS",
        value_delimiter = ',',
        value_parser = parse_link_bandwidth,
        global = true
    )]
    pub region_pair_bandwidths: Vec<gallery_replication::LinkBandwidth>,

    /// Seconds a worker's claim on a job or replica holds without renewal (a crashed worker's work is
    /// taken over after this).
    #[arg(long, env = "GALLERYD_WORKER_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub worker_lease_seconds: u64,

    /// Seconds between garbage collections of unreferenced blobs (`0`: never).
    #[arg(
        long,
        env = "GALLERYD_GC_INTERVAL_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub gc_interval_seconds: u64,

    /// Seconds an unreferenced blob must stay unreferenced before garbage collection deletes it.
    #[arg(
        long,
        env = "GALLERYD_GC_GRACE_SECONDS",
        default_value_t = 300,
        global = true
    )]
    pub gc_grace_seconds: u64,

    /// The most replicas an image version may have per region.
    #[arg(
        long,
        env = "GALLERYD_MAX_REPLICAS_PER_REGION",
        default_value_t = 10,
        global = true
    )]
    pub max_replicas_per_region: u32,

    /// The largest image version, all disks together, in GiB.
    #[arg(
        long,
        env = "GALLERYD_MAX_IMAGE_SIZE_GB",
        default_value_t = 1024,
        global = true
    )]
    pub max_image_size_gb: u64,

    /// Allows a subscription into a restricted-access region: `SUBSCRIPTION_ID:REGION` (repeat the
    /// flag, or separate with commas in the variable).
    #[arg(
        long = "allow-restricted-region",
        env = "GALLERYD_ALLOW_RESTRICTED_REGIONS",
        value_delimiter = ',',
        global = true
    )]
    pub allow_restricted_regions: Vec<String>,

    /// Answers linked-template URIs (`templateLink.uri`) that start with PREFIX from the files under
    /// DIR: `PREFIX=DIR` (repeat the flag, or separate with commas in the variable). galleryd runs
    /// offline, so public template URIs are mapped to a local checkout.
    #[arg(
        long = "template-link",
        env = "GALLERYD_TEMPLATE_LINKS",
        value_delimiter = ',',
        global = true
    )]
    pub template_links: Vec<String>,

    /// Log format.
    #[arg(long, env = "GALLERYD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter: a level (`info`) or per-target levels (`info,galleryd::request=warn,sqlx=warn`).
    #[arg(
        long,
        env = "GALLERYD_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: String,

    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(
        long,
        env = "GALLERYD_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_grace_seconds: u64,

    /// Seconds a client has to send a request's headers before its connection is closed
    /// (slow-loris clients).
    #[arg(long, env = "GALLERYD_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub header_read_timeout_seconds: u64,

    /// Seconds a request body may go without a byte arriving before the request is refused (408)
    /// and its connection closed.
    #[arg(long, env = "GALLERYD_BODY_READ_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub body_read_timeout_seconds: u64,

    /// A region whose blob store holds at most this many MiB, to see what a full store does:
    /// `REGION=MIB` (repeat the flag, or separate with commas). Other regions are unlimited.
    #[arg(
        long = "region-capacity-mib",
        env = "GALLERYD_REGION_CAPACITIES_MIB",
        value_delimiter = ',',
        value_parser = parse_region_capacity,
        global = true
    )]
    pub region_capacities: Vec<(String, u64)>,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse_from(["galleryd"])
    }
}

/// A configuration value that does not make sense.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Where the database is.
    pub fn store_location(&self) -> Result<StoreLocation, ConfigError> {
        if self.in_memory {
            return Ok(StoreLocation::SqliteMemory);
        }
        match &self.database_url {
            Some(url) => StoreLocation::from_url(url).map_err(ConfigError),
            None => Ok(StoreLocation::SqliteFile(self.data_dir.join("galleryd.db"))),
        }
    }

    /// The limits to enforce.
    pub fn limits(&self) -> Limits {
        Limits {
            galleries_per_region: self.max_galleries_per_region,
            image_definitions_per_region: self.max_image_definitions_per_region,
            image_versions_per_region: self.max_image_versions_per_region,
        }
    }

    /// The fault rules of `--faults`, checked (none without the flag).
    pub fn fault_rules(&self) -> Result<Vec<arm_api::faults::FaultRuleInput>, ConfigError> {
        let Some(path) = &self.faults else {
            return Ok(Vec::new());
        };
        let failed = |error: String| ConfigError(format!("--faults {}: {error}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|error| failed(error.to_string()))?;
        let rules: Vec<arm_api::faults::FaultRuleInput> =
            serde_json::from_str(&text).map_err(|error| failed(error.to_string()))?;
        for rule in &rules {
            rule.validate().map_err(|error| failed(error.message))?;
        }
        Ok(rules)
    }

    /// The development tenant, subscription and principals, then those of `--identities`,
    /// `--subscription` and `--service-principal`, with `--allow-restricted-region` applied.
    /// The `--template-link PREFIX=DIR` mappings.
    pub fn template_link_roots(&self) -> Result<Vec<(String, PathBuf)>, ConfigError> {
        self.template_links
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.rsplit_once('=') {
                Some((prefix, directory)) if !prefix.is_empty() && !directory.is_empty() => {
                    Ok((prefix.to_string(), PathBuf::from(directory)))
                }
                _ => Err(ConfigError(format!(
                    "--template-link '{entry}' is not PREFIX=DIR"
                ))),
            })
            .collect()
    }

    pub fn directory(&self) -> Result<Directory, ConfigError> {
        let mut directory = Directory::default();
        if let Some(path) = &self.identities {
            let text = std::fs::read_to_string(path).map_err(|error| {
                ConfigError(format!("--identities {}: {error}", path.display()))
            })?;
            let configured: Directory = serde_json::from_str(&text).map_err(|error| {
                ConfigError(format!("--identities {}: {error}", path.display()))
            })?;
            directory.extend(configured);
        }
        for entry in self
            .service_principals
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
        {
            let mut parts = entry.splitn(3, ':');
            let (Some(client_id), Some(secret)) = (parts.next(), parts.next()) else {
                return Err(ConfigError(format!(
                    "--service-principal '{}' is not CLIENT_ID:SECRET[:TENANT_ID]",
                    client_id_of(entry)
                )));
            };
            let tenant_id = parts.next().unwrap_or(DEVELOPMENT_TENANT_ID);
            if !is_guid(client_id) || !is_guid(tenant_id) {
                return Err(ConfigError(format!(
                    "--service-principal '{}': the client id and tenant id must be GUIDs",
                    client_id_of(entry)
                )));
            }
            let principal = Principal {
                kind: gallery_domain::identity::PrincipalKind::Application,
                object_id: uuid::Uuid::new_v5(
                    &uuid::Uuid::NAMESPACE_OID,
                    client_id.to_ascii_lowercase().as_bytes(),
                )
                .to_string(),
                client_id: Some(client_id.to_lowercase()),
                tenant_id: tenant_id.to_lowercase(),
                user_principal_name: None,
                display_name: format!("service principal {client_id}"),
                client_secret: Some(secret.to_string()),
                resource_id: None,
            };
            directory.extend(Directory {
                tenants: Vec::new(),
                subscriptions: Vec::new(),
                principals: vec![principal],
                groups: Vec::new(),
                role_assignments: Vec::new(),
            });
        }
        let mut subscriptions = std::mem::take(&mut directory.subscriptions);
        for entry in self
            .subscriptions
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
        {
            let (subscription_id, tenant_id) = entry
                .split_once(':')
                .unwrap_or((entry, DEVELOPMENT_TENANT_ID));
            for (value, what) in [
                (subscription_id, "subscription id"),
                (tenant_id, "tenant id"),
            ] {
                if !is_guid(value) {
                    return Err(ConfigError(format!(
                        "'{value}' in --subscription '{entry}' is not a GUID {what}"
                    )));
                }
            }
            if subscriptions.iter().any(|existing| {
                existing
                    .subscription_id
                    .eq_ignore_ascii_case(subscription_id)
            }) {
                continue;
            }
            subscriptions.push(Subscription {
                subscription_id: subscription_id.to_lowercase(),
                tenant_id: tenant_id.to_lowercase(),
                display_name: format!("galleryd subscription {subscription_id}"),
                allowed_restricted_regions: Vec::new(),
            });
        }
        for entry in self
            .allow_restricted_regions
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
        {
            let Some((subscription_id, region)) = entry.split_once(':') else {
                return Err(ConfigError(format!(
                    "--allow-restricted-region '{entry}' is not SUBSCRIPTION_ID:REGION"
                )));
            };
            let region = gallery_domain::regions::find(region).ok_or_else(|| {
                ConfigError(format!(
                    "'{region}' in --allow-restricted-region '{entry}' is not a known region"
                ))
            })?;
            let subscription = subscriptions
                .iter_mut()
                .find(|subscription| subscription.subscription_id.eq_ignore_ascii_case(subscription_id))
                .ok_or_else(|| ConfigError(format!("'{subscription_id}' in --allow-restricted-region '{entry}' is not a served subscription")))?;
            subscription
                .allowed_restricted_regions
                .push(region.name.to_string());
        }
        directory.extend(Directory {
            tenants: Vec::new(),
            subscriptions,
            principals: Vec::new(),
            groups: Vec::new(),
            role_assignments: Vec::new(),
        });
        directory.validate().map_err(ConfigError)?;
        Ok(directory)
    }

    /// The ARM front end's authentication mode.
    pub fn authentication_mode(&self) -> arm_api::identity::authentication::AuthenticationMode {
        match self.authentication {
            AuthenticationMode::Claims => {
                arm_api::identity::authentication::AuthenticationMode::Claims
            }
            AuthenticationMode::Strict => {
                arm_api::identity::authentication::AuthenticationMode::Strict
            }
            AuthenticationMode::None => arm_api::identity::authentication::AuthenticationMode::None,
        }
    }

    /// ARM's request limits and whether they are enforced.
    pub fn throttling_settings(&self) -> arm_api::arm::throttling::ThrottlingSettings {
        arm_api::arm::throttling::ThrottlingSettings {
            enforce: self.throttling == Throttling::On,
            reads_per_hour: self.throttling_reads_per_hour,
            writes_per_hour: self.throttling_writes_per_hour,
            deletes_per_hour: self.throttling_deletes_per_hour,
        }
    }

    /// Where region blob stores keep their bytes.
    pub fn blob_backend(&self) -> Result<gallery_blob::BlobBackend, ConfigError> {
        if self.in_memory {
            return Ok(gallery_blob::BlobBackend::InMemory);
        }
        Ok(match self.blob_backend {
            BlobBackendKind::Local => {
                gallery_blob::BlobBackend::LocalDirectory(self.data_dir.join("regions"))
            }
            BlobBackendKind::Memory => gallery_blob::BlobBackend::InMemory,
            BlobBackendKind::Azure => gallery_blob::BlobBackend::AzureBlob {
                account: self.azure_storage_account.clone().ok_or_else(|| {
                    ConfigError("--blob-backend azure needs --azure-storage-account".to_string())
                })?,
                access_key: self.azure_storage_key.clone().ok_or_else(|| {
                    ConfigError("--blob-backend azure needs --azure-storage-key".to_string())
                })?,
                endpoint: self.azure_storage_endpoint.clone(),
                container_prefix: self.azure_container_prefix.clone(),
            },
        })
    }

    /// The capacity in bytes of each region given one (`--region-capacity-mib`).
    pub fn region_capacity_bytes(&self) -> std::collections::HashMap<String, u64> {
        self.region_capacities.iter().cloned().collect()
    }

    /// The replication workers' settings.
    pub fn worker_settings(&self) -> gallery_replication::WorkerSettings {
        let lease = std::time::Duration::from_secs(self.worker_lease_seconds);
        gallery_replication::WorkerSettings {
            concurrent_jobs: self.workers.max(1),
            concurrent_copies: self.concurrent_copies.max(1),
            lease,
            profile: match self.replication_profile {
                ReplicationProfile::Instant => gallery_replication::LatencyProfile::Instant,
                ReplicationProfile::Realistic => gallery_replication::LatencyProfile::Realistic,
            },
            bandwidth_bytes_per_second: megabits_to_bytes(self.replication_bandwidth_mbps),
            link_bandwidths: self.region_pair_bandwidths.clone(),
            garbage_collection_interval: (self.gc_interval_seconds > 0)
                .then(|| std::time::Duration::from_secs(self.gc_interval_seconds)),
            garbage_grace: std::time::Duration::from_secs(self.gc_grace_seconds),
            ..gallery_replication::WorkerSettings::default()
        }
    }
}

/// Megabits per second as bytes per second.
fn megabits_to_bytes(megabits_per_second: u64) -> u64 {
    megabits_per_second.saturating_mul(1_000_000) / 8
}

/// Parses `REGION:REGION=MBPS` (regions in any spelling the catalog knows).
fn parse_link_bandwidth(value: &str) -> Result<gallery_replication::LinkBandwidth, String> {
    let malformed = || format!("'{value}' is not REGION:REGION=MBPS (e.g. westus:eastus=50)");
    let (pair, megabits) = value.split_once('=').ok_or_else(malformed)?;
    let (first, second) = pair.split_once(':').ok_or_else(malformed)?;
    let region = |name: &str| {
        gallery_domain::regions::find(name)
            .map(|region| region.name.to_string())
            .ok_or_else(|| format!("'{name}' is not a known region"))
    };
    let megabits: u64 = megabits.trim().parse().map_err(|_| malformed())?;
    Ok(gallery_replication::LinkBandwidth {
        regions: (region(first)?, region(second)?),
        bytes_per_second: megabits_to_bytes(megabits),
    })
}

/// `REGION=MIB` of `--region-capacity-mib`, as the region's name and the capacity in bytes.
fn parse_region_capacity(value: &str) -> Result<(String, u64), String> {
    let malformed = || format!("'{value}' is not REGION=MIB (e.g. eastus=100)");
    let (name, mebibytes) = value.split_once('=').ok_or_else(malformed)?;
    let region = gallery_domain::regions::find(name.trim())
        .ok_or_else(|| format!("'{name}' is not a known region"))?;
    let mebibytes: u64 = mebibytes.trim().parse().map_err(|_| malformed())?;
    Ok((
        region.name.to_string(),
        mebibytes.saturating_mul(1024 * 1024),
    ))
}

/// The client id of a `--service-principal` entry, for error messages (never the secret).
fn client_id_of(entry: &str) -> &str {
    entry.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_setup() {
        let config = Config::default();
        assert_eq!(
            (config.https_port, config.http_port, config.page_size),
            (8443, 8080, 100)
        );
        assert_eq!(
            config.store_location().unwrap(),
            StoreLocation::SqliteFile(PathBuf::from(".galleryd/galleryd.db"))
        );
        assert_eq!(config.limits(), Limits::default());
        assert_eq!(config.directory().unwrap(), Directory::default());
        assert_eq!(
            config.directory().unwrap().subscriptions,
            vec![Subscription::development()]
        );
    }

    #[test]
    fn region_pair_bandwidths() {
        let config = Config::parse_from([
            "galleryd",
            "--region-pair-bandwidth",
            "West US:eastus=8,westus:westus=80",
        ]);
        let settings = config.worker_settings();
        assert_eq!(
            settings.link_bandwidths,
            vec![
                gallery_replication::LinkBandwidth {
                    regions: ("westus".into(), "eastus".into()),
                    bytes_per_second: 1_000_000,
                },
                gallery_replication::LinkBandwidth {
                    regions: ("westus".into(), "westus".into()),
                    bytes_per_second: 10_000_000,
                },
            ]
        );
        for refused in ["westus=8", "westus:atlantis=8", "westus:eastus=fast"] {
            assert!(
                Config::try_parse_from(["galleryd", "--region-pair-bandwidth", refused]).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn extra_subscriptions() {
        let config = Config::parse_from([
            "galleryd",
            "--subscription",
            "11111111-1111-1111-1111-111111111111:22222222-2222-2222-2222-222222222222",
            "--subscription",
            "33333333-3333-3333-3333-333333333333",
        ]);
        let directory = config.directory().unwrap();
        let subscriptions = &directory.subscriptions;
        assert_eq!(subscriptions.len(), 3);
        assert!(
            directory
                .tenant("22222222-2222-2222-2222-222222222222")
                .is_some()
        );
        assert_eq!(
            subscriptions[1].tenant_id,
            "22222222-2222-2222-2222-222222222222"
        );
        assert_eq!(subscriptions[2].tenant_id, DEVELOPMENT_TENANT_ID);
        assert!(
            Config::parse_from(["galleryd", "--subscription", "nope"])
                .directory()
                .is_err()
        );
    }

    #[test]
    fn service_principals_and_identity_files() {
        let file =
            std::env::temp_dir().join(format!("galleryd-identities-{}.json", std::process::id()));
        std::fs::write(
            &file,
            r#"{"principals": [{"kind": "User", "objectId": "55555555-5555-5555-5555-555555555555", "userPrincipalName": "ann@contoso.com", "tenantId": "66666666-6666-6666-6666-666666666666"}]}"#,
        )
        .unwrap();
        let config = Config::parse_from([
            "galleryd",
            "--service-principal",
            "44444444-4444-4444-4444-444444444444:s3cret",
            "--identities",
            file.to_str().unwrap(),
        ]);
        let directory = config.directory().unwrap();
        let application = directory
            .principal("44444444-4444-4444-4444-444444444444")
            .unwrap();
        assert_eq!(application.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(application.tenant_id, DEVELOPMENT_TENANT_ID);
        assert!(directory.principal("ann@contoso.com").is_some());
        assert!(
            directory
                .tenant("66666666-6666-6666-6666-666666666666")
                .is_some()
        );
        // The same flags give the same object id at every start.
        assert_eq!(
            config
                .directory()
                .unwrap()
                .principal("44444444-4444-4444-4444-444444444444")
                .unwrap()
                .object_id,
            application.object_id
        );
        let _ = std::fs::remove_file(&file);
        for refused in ["nope", "44444444-4444-4444-4444-444444444444", "x:y"] {
            assert!(
                Config::parse_from(["galleryd", "--service-principal", refused])
                    .directory()
                    .is_err(),
                "{refused}"
            );
        }
        let error = Config::parse_from(["galleryd", "--service-principal", "x:hidden-secret"])
            .directory()
            .unwrap_err();
        assert!(!error.to_string().contains("hidden-secret"), "{error}");
        assert!(
            Config::parse_from(["galleryd", "--identities", "/nonexistent/identities.json"])
                .directory()
                .is_err()
        );
    }

    #[test]
    fn subcommand_flags_are_global() {
        let cli = Cli::parse_from(["galleryd", "serve", "--in-memory", "--https-port", "0"]);
        assert_eq!(cli.command, Some(Command::Serve));
        assert!(cli.config.in_memory);
        assert_eq!(
            cli.config.store_location().unwrap(),
            StoreLocation::SqliteMemory
        );
    }
}
