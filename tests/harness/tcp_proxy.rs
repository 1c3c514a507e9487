//! A TCP proxy a test puts between galleryd and Postgres, to take the database away and give it
//! back without touching the shared cluster (stopping it would break every test running beside).
//!
//! [`TcpProxy::cut`] does what a database that goes down does to its clients: every open connection
//! is dropped (galleryd sees its sockets close mid-conversation, Postgres sees its clients vanish
//! and rolls their transactions back) and new connections are refused, because the listening
//! socket is closed. [`TcpProxy::restore`] listens again on the same port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};

/// A proxy from a local port to `target`.
pub struct TcpProxy {
    address: SocketAddr,
    target: SocketAddr,
    accepting: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<JoinSet<()>>>,
    accepted: Arc<AtomicUsize>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let proxy = TcpProxy {
            address,
            target,
            accepting: Mutex::new(None),
            connections: Arc::new(Mutex::new(JoinSet::new())),
            accepted: Arc::new(AtomicUsize::new(0)),
        };
        *proxy.accepting.lock().await = Some(proxy.accept_from(listener));
        proxy
    }

    /// A proxy to the Postgres server the tests use (`postgres_admin_url`).
    pub async fn to_postgres() -> TcpProxy {
        let url = crate::postgres_admin_url();
        let authority = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?']).next())
            .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
            .expect("a host in the Postgres URL");
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:5432")
        };
        let target = tokio::net::lookup_host(&authority)
            .await
            .expect("resolve the Postgres host")
            .next()
            .expect("an address for the Postgres host");
        TcpProxy::start(target).await
    }

    /// The address clients connect to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `url` (a `postgres://` URL) with its host and port replaced by the proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let credentials = authority
            .rsplit_once('@')
            .map(|(credentials, _)| format!("{credentials}@"))
            .unwrap_or_default();
        format!("{scheme}://{credentials}{}{tail}", self.address)
    }

    /// How many connections the proxy has accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Takes the database away: closes the listening socket (new connections are refused) and
    /// drops every open connection. Returns once all of it is closed.
    pub async fn cut(&self) {
        if let Some(accepting) = self.accepting.lock().await.take() {
            accepting.abort();
            let _ = accepting.await;
        }
        self.connections.lock().await.shutdown().await;
    }

    /// Gives the database back: listens on the same port again.
    pub async fn restore(&self) {
        let mut accepting = self.accepting.lock().await;
        if accepting.is_some() {
            return;
        }
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(error) if attempts < 100 => {
                    attempts += 1;
                    let _ = error;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(error) => panic!("cannot listen on {} again: {error}", self.address),
            }
        };
        *accepting = Some(self.accept_from(listener));
    }

    fn accept_from(&self, listener: TcpListener) -> JoinHandle<()> {
        let target = self.target;
        let connections = Arc::clone(&self.connections);
        let accepted = Arc::clone(&self.accepted);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                accepted.fetch_add(1, Ordering::Relaxed);
                connections.lock().await.spawn(forward(inbound, target));
            }
        })
    }
}

/// Copies bytes both ways until either side closes (or the task is aborted by a cut).
async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    let _ = inbound.set_nodelay(true);
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Ok(mut accepting) = self.accepting.try_lock()
            && let Some(accepting) = accepting.take()
        {
            accepting.abort();
        }
        if let Ok(mut connections) = self.connections.try_lock() {
            connections.abort_all();
        }
    }
}
