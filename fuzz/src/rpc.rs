//! A real JSON-RPC server for the `rpc_server` target: the dev chain in a temporary
//! database, its transaction pool and keystore, served on 127.0.0.1 with the node's
//! default limits and safe methods only (what a remote client or a web page reaches),
//! and a minimal HTTP/1.1 client that posts one body and reads one answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arceon_client::keystore::Keystore;
use arceon_client::{Client, Pruning};
use arceon_primitives::{TransactionSource, TransactionValidity, H256};
use arceon_rpc::{RpcConfig, RpcDeps, RpcMethods};
use arceon_txpool::{ChainApi, Options, Pool};
use parking_lot::Mutex;

struct ClientApi(Arc<Client>);

impl ChainApi for ClientApi {
    fn validate(&self, at: H256, source: TransactionSource, xt: &[u8]) -> TransactionValidity {
        self.0.validate_transaction(&at, source, xt)
    }
}

/// Where the server's database and keystore live: one directory per fuzzing process,
/// with the directories of processes that are gone removed.
fn data_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("arceon-fuzz-rpc-") {
                if !PathBuf::from(format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    tmp.join(format!("arceon-fuzz-rpc-{}", std::process::id()))
}

/// The server's address, starting it on first use.
pub fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let dir = data_dir();
        let spec = arceon_chain_spec::ChainSpec::load("dev").expect("the dev spec loads");
        let genesis = spec.genesis_block().expect("the dev genesis builds");
        let client = Client::open(&dir.join("db"), Pruning::default(), &genesis)
            .expect("a fresh database opens");
        let keystore = Keystore::open(&dir.join("keystore")).expect("the keystore opens");
        let pool = Arc::new(Pool::new(
            Arc::new(ClientApi(client.clone())),
            Options::default(),
        ));
        let deps = RpcDeps {
            client,
            pool,
            keystore,
            chain_name: spec.name.clone(),
            chain_type: spec.chain_type.as_str().to_string(),
            properties: spec.properties.clone(),
            node_name: "fuzz".into(),
            is_validator: false,
            rpc_calls: None,
            network: None,
            finality: None,
            fastlane: None,
        };
        let config = RpcConfig {
            methods: RpcMethods::Safe,
            rate_limit_per_minute: None,
            ..RpcConfig::default()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
                let server = arceon_rpc::start(addr, config, deps)
                    .await
                    .expect("the RPC server starts");
                let _ = tx.send(server.local_addr);
                // Serve until the process ends.
                std::future::pending::<()>().await;
                drop(server);
            });
        });
        rx.recv().expect("the server reports its address")
    })
}

/// One kept-alive connection to [`server`].
fn connection() -> &'static Mutex<Option<BufReader<TcpStream>>> {
    static CONNECTION: OnceLock<Mutex<Option<BufReader<TcpStream>>>> = OnceLock::new();
    CONNECTION.get_or_init(|| Mutex::new(None))
}

/// Posts `body` and returns the status code and the answer's body; `None` if the server
/// closed the connection (it is reopened for the next call).
pub fn post(body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut slot = connection().lock();
    if slot.is_none() {
        let stream = TcpStream::connect(server()).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        stream.set_nodelay(true).ok()?;
        *slot = Some(BufReader::new(stream));
    }
    let answer = exchange(slot.as_mut()?, body);
    if answer.is_none() {
        *slot = None;
    }
    answer
}

fn exchange(reader: &mut BufReader<TcpStream>, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = None;
    let mut close = false;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Not produced for JSON-RPC answers; start over on a fresh connection.
            return None;
        }
    }
    let mut answer = vec![0u8; length?];
    reader.read_exact(&mut answer).ok()?;
    if close {
        return None;
    }
    Some((status, answer))
}
