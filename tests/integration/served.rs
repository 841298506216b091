//! Shared harness for tests over loopback: the real `vouch serve` as a child process on
//! port 0, its URL read from the line it prints when listening.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use vouch::crypto::keyfile::load_secret;
use vouch::protocol::client::Client;

use crate::util::Env;

/// A running `vouch serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `vouch serve --listen 127.0.0.1:0 ARGS…` in the scratch directory (with no
    /// `VOUCH_DATABASE_URL` from the environment) and read its URL from the line it prints
    /// when listening.
    pub fn spawn(env: &Env, args: &[&str]) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("vouch"))
            .current_dir(env.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("VOUCH_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("vouch serve: listening on "), "{line}");
        let url = line["vouch serve: listening on ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        Server { child, url }
    }

    /// [`Server::spawn`] with `--data DIR` (made if missing) and `ARGS…`.
    pub fn start(env: &Env, data: &str, args: &[&str]) -> Self {
        std::fs::create_dir_all(env.p(data)).unwrap();
        let mut all = vec!["--data", data];
        all.extend_from_slice(args);
        Self::spawn(env, &all)
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        self.url.split("://").nth(1).unwrap().to_string()
    }

    /// A client of this server signing with `keys/KEY.key` of the scratch directory.
    pub fn client(&self, env: &Env, key: &str) -> Client {
        let k = load_secret(&env.p(&format!("keys/{key}.key"))).unwrap();
        Client::new(&self.url, k, None).unwrap()
    }
}
