//! `wss://` served directly: `cargo run --example tls` serves
//! `wss://127.0.0.1:8443/echo` (`HOST` and `PORT` override). With `TLS_CERT`
//! and `TLS_KEY` (paths of PEM files) it serves that certificate; otherwise
//! it makes a self-signed one for `localhost` and `127.0.0.1` at start and
//! prints its SHA-256 fingerprint, to compare with what a client shows
//! (`websocat --insecure wss://127.0.0.1:8443/echo`, or a browser after
//! accepting the certificate at `https://127.0.0.1:8443/healthz`).
//!
//! Send SIGHUP to reload `TLS_CERT`/`TLS_KEY` without a restart (a renewed
//! certificate): new connections get it, open ones keep theirs.

use sha2::{Digest, Sha256};
use wirehub::prelude::*;
use wirehub::Tls;

/// Echoes every text and binary message.
#[ws_route("/echo", max_message = "16MiB")]
async fn echo(msg: Message) -> Option<Message> {
    Some(msg)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(env("RUST_LOG", "info")).init();
    let tls = match (std::env::var("TLS_CERT"), std::env::var("TLS_KEY")) {
        (Ok(cert), Ok(key)) => {
            println!("serving the certificate in {cert}");
            let tls = Tls::from_pem_files(&cert, &key)?;
            reload_on_sighup(tls.clone());
            tls
        }
        _ => self_signed()?,
    };
    let addr = format!("{}:{}", env("HOST", "127.0.0.1"), env("PORT", "8443"));
    let server = wirehub::App::new().bind(addr).tls(tls).start().await?;
    println!("echo server on wss://{}/echo", server.local_addr());
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wirehub::shutdown_signal().await;
        stop.shutdown();
    });
    server.wait().await?;
    Ok(())
}

/// A certificate for `localhost` and `127.0.0.1`, made now.
fn self_signed() -> Result<Tls, Box<dyn std::error::Error>> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names)?;
    let fingerprint: Vec<String> = Sha256::digest(cert.der()).iter().map(|b| format!("{b:02X}")).collect();
    println!("self-signed certificate for localhost and 127.0.0.1 (set TLS_CERT and TLS_KEY to serve yours)");
    println!("SHA-256 fingerprint: {}", fingerprint.join(":"));
    Ok(Tls::from_pem(cert.pem().as_bytes(), key_pair.serialize_pem().as_bytes())?)
}

/// Reloads the certificate files on each SIGHUP.
fn reload_on_sighup(tls: Tls) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => println!("certificate reloaded"),
                Err(e) => eprintln!("certificate not reloaded (the old one stays): {e}"),
            }
        }
    });
    #[cfg(not(unix))]
    drop(tls);
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
