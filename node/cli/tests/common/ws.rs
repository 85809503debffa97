//! A minimal WebSocket JSON-RPC client for tests (RFC 6455: masked text frames out,
//! text frames in), and the raw HTTP helpers it shares with the RPC security tests.
//! Included as `#[path = "common/ws.rs"] mod ws;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::Node;

/// Every read from the node gives up after this long.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

pub fn connect(node: &Node) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", node.rpc_port)).expect("connect to RPC");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
}

/// Reads a status line and headers up to the blank line.
pub fn read_head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            return (status, headers);
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
}

pub fn call(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A minimal WebSocket client (RFC 6455: masked text frames out, text frames in).
pub struct WebSocket {
    reader: BufReader<TcpStream>,
    next_id: u64,
}

impl WebSocket {
    /// Performs the upgrade handshake; `Err` carries the HTTP status of a refusal.
    pub fn open(node: &Node, origin: Option<&str>) -> Result<WebSocket, u16> {
        let mut stream = connect(node);
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        let request = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{origin}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            node.rpc_port
        );
        stream.write_all(request.as_bytes()).expect("send upgrade");
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader);
        if status != 101 {
            return Err(status);
        }
        // The key above is RFC 6455's example, whose accept value the RFC gives.
        let accept = headers
            .iter()
            .find(|(n, _)| n == "sec-websocket-accept")
            .map(|(_, v)| v.as_str());
        assert_eq!(accept, Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        Ok(WebSocket { reader, next_id: 1 })
    }

    pub fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.reader
            .get_mut()
            .write_all(&frame)
            .expect("send a frame");
    }

    fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; n];
        self.reader
            .read_exact(&mut bytes)
            .expect("a frame from the node within the timeout");
        bytes
    }

    /// The next text message (answering pings on the way).
    pub fn recv_text(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let head = self.read_exact(2);
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0f;
            let len = match head[1] & 0x7f {
                126 => {
                    let b = self.read_exact(2);
                    u64::from(u16::from_be_bytes([b[0], b[1]]))
                }
                127 => {
                    let b = self.read_exact(8);
                    u64::from_be_bytes(b.try_into().expect("8 bytes"))
                }
                n => u64::from(n),
            };
            let payload = self.read_exact(usize::try_from(len).expect("frame length"));
            match opcode {
                0x9 => {
                    let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                    pong.extend_from_slice(&payload);
                    self.reader.get_mut().write_all(&pong).expect("send a pong");
                }
                0x8 => panic!("the node closed the WebSocket: {payload:?}"),
                0xa => {}
                _ => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return String::from_utf8(message).expect("UTF-8 text");
                    }
                }
            }
        }
    }

    pub fn recv_json(&mut self) -> Value {
        serde_json::from_str(&self.recv_text()).expect("a JSON message")
    }

    /// Sends a call without waiting for its answer; returns its id.
    pub fn send_call(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send_text(&call(id, method, params).to_string());
        id
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_call(method, params);
        let answer = self.recv_json();
        assert_eq!(answer["id"], json!(id), "answers come in order: {answer}");
        answer
    }
}

impl WebSocket {
    /// Waits at most `timeout` for each read from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .expect("read timeout");
    }

    /// The next message, or `None` when nothing came within the read timeout.
    pub fn try_recv_json(&mut self) -> Option<Value> {
        match self.reader.fill_buf() {
            Ok(buf) if !buf.is_empty() => Some(self.recv_json()),
            _ => None,
        }
    }
}
