//! Shared harness for tests over loopback: the real `vouch serve` as a child process on
//! port 0, its URL read from the line it prints when listening.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

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
    /// Start `vouch serve --data DIR --listen 127.0.0.1:0 ARGS…` in the scratch directory
    /// and read its URL from the line it prints when listening.
    pub fn start(env: &Env, data: &str, args: &[&str]) -> Self {
        std::fs::create_dir_all(env.p(data)).unwrap();
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("vouch"))
            .current_dir(env.path())
            .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
            .args(args)
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

    /// `host:port`.
    pub fn addr(&self) -> String {
        self.url.split("://").nth(1).unwrap().to_string()
    }
}
