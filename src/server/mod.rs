//! `openum serve`: opens the store, provisions PIN hashes, prepares TLS, binds the
//! SIP listeners the startup mode asks for and the admin socket, starts the actors,
//! prints what it listens on, and runs until drained (`openum service drain`,
//! SIGTERM or SIGINT; a second signal hangs calls up at once; see
//! `actors::supervisor`).
//!
//! Roles (`--role`): `combined` (default) answers calls; `mailbox` does the same on
//! the UM service ports (5062/5063); `router` opens no store and redirects each new
//! call to a healthy mailbox node.
//!
//! Files in the data dir: `store/` (sled: messages and the object model, see
//! `objects`), `tls/` (see `tls`), `service.json` (the startup mode per role set
//! by `openum service set-startup-mode`, read at start only, as Exchange reads
//! UMStartupMode at service start), `runtime.json` (live ports and admin URL
//! while running, for the CLI and for tests that ask for port 0) and
//! `admin.token` (the local admin credential the CLI uses, readable by the
//! service's user only).

pub mod startup;

use crate::actors::endpoint::{SipEndpoint, SipPorts};
use crate::actors::messages::MailboxChanged;
use crate::actors::monitor::GatewayMonitor;
use crate::actors::mwi::MwiActor;
use crate::actors::net;
use crate::actors::purge::RetentionActor;
use crate::actors::store::StoreActor;
use crate::actors::supervisor::{Drain, Media, Supervisor};
use crate::admin::{self, AdminState, TlsAdmin};
use crate::callctl;
use crate::config::{Config, Role};
use crate::ivr::prompts::PromptLibrary;
use crate::store::{MailboxStore, notify::Notifying, sled::SledStore};
use crate::tls;
use actix::prelude::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::datadir::{
    Runtime, Settings, load_settings, runtime_path, save_settings, settings_path, store_path,
};

/// Bind SIP TCP and UDP on one port. Port 0 picks a port free for both.
fn bind_plain(
    cfg: &Config,
) -> std::io::Result<(std::net::TcpListener, Option<std::net::UdpSocket>, u16)> {
    let s = &cfg.service;
    let mut last_err = None;
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind(SocketAddr::new(s.sip_bind, s.sip_port))?;
        let port = tcp.local_addr()?.port();
        if !s.udp {
            return Ok((tcp, None, port));
        }
        match std::net::UdpSocket::bind(SocketAddr::new(s.sip_bind, port)) {
            Ok(u) => return Ok((tcp, Some(u), port)),
            Err(e) if s.sip_port == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no port free for both UDP and TCP")))
}

fn tokio_tcp(l: std::net::TcpListener) -> Result<tokio::net::TcpListener, String> {
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())
}

/// Name the calling thread as `top -H`, `ps -L` and /proc show it (at most 15
/// bytes): media workers are told apart from actix's other arbiters, and a test can
/// find them.
fn name_this_thread(name: &str) {
    #[cfg(target_os = "linux")]
    if let Ok(c) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated string
        // that outlives the call.
        unsafe {
            libc::prctl(libc::PR_SET_NAME, c.as_ptr());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

/// Each call holds an RTP socket: lift the soft descriptor limit to the hard one (a
/// stock 1024 would cap a server near 1,000 calls).
fn raise_fd_limit() -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
    l.rlim_cur
}

pub use crate::config::log_resolutions;

/// Run the server; returns the exit code (0, or 3 when a drain had to cut calls).
pub fn run(
    src: startup::Source,
    overrides: startup::Overrides,
    data: PathBuf,
) -> Result<i32, String> {
    install_panic_hook();
    let fd_limit = raise_fd_limit();
    let role = overrides.role;
    // The file is used at a first start (and by a router at every start): check
    // it before anything is written.
    let first = !store_path(&data).exists();
    let checked = match role == Role::Router || first {
        true => Some(startup::check_text(&src, &data)?),
        false => None,
    };
    let ports_checked = checked.is_some();
    if let Some(c) = &checked {
        let mut c = c.clone();
        overrides.apply(&mut c);
        startup::check_files(&c)?;
        if let Some(m) = load_settings(&data)?.startup_mode_for(role) {
            c.service.startup_mode = m;
        }
        startup::check_ports(&c)?;
        startup::check_admin(&c, overrides.insecure_admin)?;
    }
    std::fs::create_dir_all(&data)
        .map_err(|e| format!("cannot create data dir {}: {e}", data.display()))?;
    // A router records nothing: no store, no prompts, no PINs.
    let mut change_feed = None;
    let mut objects = None;
    let mut cdr_store: Option<Arc<dyn crate::store::cdr::CdrStore>> = None;
    let (mut cfg, store, hashed): (Config, Option<Arc<dyn MailboxStore>>, usize) = match role {
        Role::Router => (checked.ok_or("the router's configuration")?, None, 0),
        _ => {
            let cache = checked
                .as_ref()
                .map_or(crate::store::sled::DEFAULT_CACHE_MB, |c| {
                    c.service.store_cache_mb
                });
            let sled = SledStore::open_with_cache(&store_path(&data), cache)
                .map_err(|e| format!("{}: {e}", store_path(&data).display()))?;
            let o = startup::objects_of(&sled, &data);
            let (cfg, hashed) = startup::load_model(&src, &data, &o)?;
            objects = Some(o);
            cdr_store = Some(Arc::new(sled.clone()));
            let (store, feed) = Notifying::new(Arc::new(sled));
            change_feed = Some(feed);
            (cfg, Some(Arc::new(store) as Arc<dyn MailboxStore>), hashed)
        }
    };
    overrides.apply(&mut cfg);
    startup::check_files(&cfg)?;
    let settings = load_settings(&data)?;
    if let Some(m) = settings.startup_mode_for(role) {
        cfg.service.startup_mode = m;
    }
    log_resolutions(&cfg.resolutions);
    if !ports_checked {
        startup::check_ports(&cfg)?;
    }
    if !ports_checked {
        startup::check_admin(&cfg, overrides.insecure_admin)?;
    }
    if !cfg.service.admin.ip().is_loopback() {
        tracing::warn!(event = "admin_insecure", address = %cfg.service.admin,
            "the admin API listens beyond loopback without TLS (--insecure-admin)");
    }
    let mode = cfg.service.startup_mode;
    // The local admin credential: new at every start, on disk for the CLI only.
    let local_token = crate::tokens::generate();
    crate::tokens::write_local(&data, &local_token)
        .map_err(|e| format!("{}: {e}", crate::tokens::local_path(&data).display()))?;
    if hashed > 0 {
        // argon2id works in 19 MiB per hash; give that back to the system rather
        // than carry it for the life of the process.
        // SAFETY: malloc_trim only releases free heap memory.
        unsafe {
            libc::malloc_trim(0);
        }
    }
    let prompts = match role {
        Role::Router => None,
        _ => Some(Arc::new(
            PromptLibrary::embedded()
                .and_then(|l| l.with_custom(&crate::ivr::prompts::custom_dir(&data)))
                .map_err(|e| e.to_string())?,
        )),
    };
    let self_test_prompts = prompts.clone();
    if let Some(lib) = prompts.clone().filter(|_| opus_warmup(&cfg)) {
        // Opus callers must never wait for a prompt's first encoding; debug builds
        // (the test suite's many short-lived servers) encode on first use instead.
        let spawned = std::thread::Builder::new()
            .name("opus-prompts".into())
            .spawn(move || {
                // SAFETY: lowers this thread's own priority; no memory is touched.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                }
                let t = std::time::Instant::now();
                let n = lib.warm_opus();
                tracing::info!(
                    event = "prompts_encoded",
                    codec = "opus",
                    prompts = n,
                    ms = t.elapsed().as_millis() as u64
                );
            });
        if let Err(e) = spawned {
            tracing::warn!(event = "prompts_encode_skipped", error = %e, "Opus prompts are encoded on first use");
        }
    }
    let metrics = crate::metrics_catalog::builder().install_recorder().ok();
    // Every series exists from the start, at zero.
    crate::metrics_catalog::register();
    if role == Role::Router && cfg.service.mailbox_nodes.is_empty() {
        return Err(
            "the router role needs at least one [[mailbox_node]] in the configuration".into(),
        );
    }
    for (a, b, ip) in cfg.directory.shared_gateway_addresses() {
        tracing::warn!(event = "gateway_address_shared", event_id = 1175, gateway = %a, other = %b, address = %ip,
            "two IP gateways resolve to one address; requests from it are attributed to the first");
    }

    let plain = match mode.plain() {
        true => Some(
            bind_plain(&cfg)
                .map_err(|e| format!("cannot bind SIP port {}: {e}", cfg.service.sip_port))?,
        ),
        false => None,
    };
    let tls_setup = match mode.tls() {
        true => Some(tls::prepare(
            &cfg.service,
            &cfg.directory,
            &data,
            std::time::SystemTime::now(),
        )?),
        false => None,
    };
    // The admin API's HTTPS uses the same service certificate (prepared for
    // it alone when the startup mode has no TLS).
    let admin_tls_setup = match (cfg.service.admin_tls, &tls_setup) {
        (None, _) | (Some(_), Some(_)) => None,
        (Some(_), None) => Some(tls::prepare(
            &cfg.service,
            &cfg.directory,
            &data,
            std::time::SystemTime::now(),
        )?),
    };
    let admin_tls_listener = match cfg.service.admin_tls {
        Some(a) => Some(
            std::net::TcpListener::bind(a)
                .map_err(|e| format!("cannot bind admin HTTPS address {a}: {e}"))?,
        ),
        None => None,
    };
    let tls_listener = match &tls_setup {
        Some(_) => {
            let a = SocketAddr::new(cfg.service.sip_bind, cfg.service.sip_tls_port);
            Some(
                std::net::TcpListener::bind(a)
                    .map_err(|e| format!("cannot bind SIP TLS port {a}: {e}"))?,
            )
        }
        None => None,
    };
    let ports = SipPorts {
        plain: plain.as_ref().map_or(0, |p| p.2),
        tls: match &tls_listener {
            Some(l) => l.local_addr().map_err(|e| e.to_string())?.port(),
            None => 0,
        },
    };
    let admin_listener = std::net::TcpListener::bind(cfg.service.admin)
        .map_err(|e| format!("cannot bind admin address {}: {e}", cfg.service.admin))?;
    let admin_addr = admin_listener.local_addr().map_err(|e| e.to_string())?;
    let admin_tls_addr = match &admin_tls_listener {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let dir = Arc::new(cfg.directory.clone());
    let service = Arc::new(cfg.service.clone());

    let sys = System::new();
    let setup = sys.block_on(async {
        let media = match (&store, prompts) {
            (Some(store), Some(prompts)) => {
                let store_for_actor = store.clone();
                let store_addr = SyncArbiter::start(1, move || StoreActor {
                    store: store_for_actor.clone(),
                });
                let n = match service.workers {
                    0 => std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2),
                    n => n,
                };
                let store_for_deposits = store.clone();
                let deposits = SyncArbiter::start(n, move || StoreActor {
                    store: store_for_deposits.clone(),
                });
                let store_for_reads = store.clone();
                let reads = SyncArbiter::start(2, move || StoreActor {
                    store: store_for_reads.clone(),
                });
                let workers: Vec<_> = (0..n)
                    .map(|i| {
                        let a = Arbiter::new().handle();
                        a.spawn_fn(move || name_this_thread(&format!("openum-media-{i}")));
                        a
                    })
                    .collect();
                Some(Media {
                    store: store_addr,
                    deposits,
                    reads,
                    prompts,
                    workers,
                })
            }
            _ => None,
        };
        let (tcp, udp) = match plain {
            Some((tcp, udp, _)) => {
                let udp = match udp {
                    Some(u) => {
                        u.set_nonblocking(true).map_err(|e| e.to_string())?;
                        Some(Arc::new(
                            tokio::net::UdpSocket::from_std(u).map_err(|e| e.to_string())?,
                        ))
                    }
                    None => None,
                };
                (Some(tokio_tcp(tcp)?), udp)
            }
            None => (None, None),
        };
        // The supervisor and the endpoint address each other: make the supervisor's
        // context first so the endpoint can hold its address as a recipient.
        let sup_ctx = Context::<Supervisor>::new();
        let sup_addr = sup_ctx.address();
        let mut endpoint = SipEndpoint::new(
            dir.clone(),
            service.sip_t1,
            udp.clone(),
            sup_addr.clone().recipient(),
        )
        .with_guard(crate::sip::guard::GuardConfig {
            trusted_rate: service.sip_rate_limit_per_source,
            untrusted_rate: service.sip_rate_limit_untrusted,
            shed_delay: service.sip_shed_queue_delay,
        });
        if let Some(setup) = &tls_setup {
            endpoint = endpoint.with_tls_client(tls::client_connector(setup)?);
        }
        let endpoint = endpoint.start();
        let monitor = GatewayMonitor::new(
            service.clone(),
            dir.clone(),
            endpoint.clone(),
            (ports.plain, ports.tls),
            udp.is_some(),
            tls_setup.is_some(),
        )
        .start();
        let settings = callctl::Settings {
            role,
            fqdn: service.fqdn.clone(),
            address: service.address,
            plain_port: ports.plain,
            tls_port: ports.tls,
            max_calls: service.max_calls_allowed,
            mailbox_nodes: service.mailbox_nodes.clone(),
            fault_injection: std::env::var("OPENUM_FAULT_INJECTION").as_deref() == Ok("1"),
        };
        if settings.fault_injection {
            tracing::warn!(
                event = "fault_injection_enabled",
                "OPENUM_FAULT_INJECTION=1: INVITEs may ask a call actor to panic (tests only)"
            );
        }
        // Email and webhooks, where there is a store: kicked by every message change.
        let outbox = match &store {
            Some(s) => Some(crate::actors::outbox::OutboxActor::spawn(
                s.clone(),
                dir.clone(),
                service.fqdn.clone(),
            )?),
            None => None,
        };
        let kicker = outbox.as_ref().map(|o| o.1.clone());
        // Message waiting indication, where there is a store.
        let mwi = match (&media, change_feed) {
            (Some(m), Some(feed)) => {
                let local = MwiActor::local(
                    service.address,
                    settings.plain_port,
                    settings.tls_port,
                    &service.fqdn,
                );
                let core = crate::mwi::Mwi::new(dir.clone(), local, rand::random());
                let addr = MwiActor::new(core, m.store.clone(), endpoint.clone()).start();
                let to = addr.clone();
                let _ = feed.set(Box::new(move |mailbox: &str| {
                    to.do_send(MailboxChanged(mailbox.to_string()));
                    if let Some(k) = &kicker {
                        k.kick();
                    }
                }));
                Some(addr)
            }
            _ => None,
        };
        // The deleted-item purge, where there is a store.
        let purge = media
            .as_ref()
            .map(|m| RetentionActor::new(dir.clone(), m.store.clone()).start());
        let mut sup = Supervisor::new(
            service.clone(),
            dir.clone(),
            settings,
            endpoint.clone(),
            media,
        )
        .notify_directory_changes(endpoint.clone().recipient())
        .notify_directory_changes(monitor.clone().recipient());
        if let Some(p) = &purge {
            sup = sup.notify_directory_changes(p.clone().recipient());
        }
        if let Some((o, _)) = &outbox {
            sup = sup.notify_directory_changes(o.clone().recipient());
        }
        if let Some(m) = &mwi {
            sup = sup
                .with_mwi(m.clone().recipient())
                .notify_directory_changes(m.clone().recipient());
        }
        if let Some(c) = cdr_store.clone() {
            let retention = service.cdr_retention;
            let sink = SyncArbiter::start(1, move || crate::actors::calls::CdrSink {
                store: c.clone(),
                retention,
                last_purge: None,
            });
            sup = sup.with_cdr_sink(sink.recipient());
        }
        let supervisor = sup_ctx.run(sup);
        let sink = net::Sink::of(&endpoint).with_limits(net::StreamLimits {
            message: cfg.service.sip_message_timeout,
            idle: cfg.service.sip_idle_timeout,
        });
        if let Some(u) = udp {
            actix_rt::spawn(net::udp_loop(u, sink.clone()));
        }
        if let Some(t) = tcp {
            actix_rt::spawn(net::tcp_accept_loop(t, sink.clone()));
        }
        let mut tls_admin = None;
        if let (Some(setup), Some(listener)) = (&tls_setup, tls_listener) {
            let resolver =
                Arc::new(tls::CertResolver::new(&setup.server).map_err(|e| e.to_string())?);
            let server_cfg = tls::server_config(resolver.clone(), &setup.trust)?;
            let acceptor = tokio_rustls::TlsAcceptor::from(server_cfg);
            let fqdns = Arc::new(dir.gateway_fqdns());
            actix_rt::spawn(net::tls_accept_loop(
                tokio_tcp(listener)?,
                acceptor,
                fqdns,
                sink.clone(),
            ));
            tls_admin = Some(Arc::new(TlsAdmin {
                resolver,
                service: service.clone(),
                data: data.clone(),
            }));
        }
        if let (None, Some(setup)) = (&tls_admin, &admin_tls_setup) {
            let resolver =
                Arc::new(tls::CertResolver::new(&setup.server).map_err(|e| e.to_string())?);
            tls_admin = Some(Arc::new(TlsAdmin {
                resolver,
                service: service.clone(),
                data: data.clone(),
            }));
        }
        if let (Some(t), Some(l)) = (&tls_admin, admin_tls_listener) {
            let acceptor =
                tokio_rustls::TlsAcceptor::from(tls::admin_server_config(t.resolver.clone())?);
            actix_rt::spawn(admin::https::front(tokio_tcp(l)?, acceptor, admin_addr));
        }

        let state = AdminState {
            store: store.clone(),
            dir: dir.clone(),
            supervisor: supervisor.clone(),
            monitor,
            metrics,
            tls: tls_admin.clone(),
            data: data.clone(),
            objects: objects.clone(),
            local_token_hash: crate::tokens::hash(&local_token).into(),
            cdrs: cdr_store.clone(),
            router_config: (role == Role::Router).then(|| Arc::new(src.text.clone())),
            sessions: Arc::default(),
            secure_cookies: cfg.service.admin_tls.is_some(),
        };
        let http = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(actix_web::web::Data::new(state.clone()))
                .wrap(actix_web::middleware::from_fn(admin::auth::require_token))
                .configure(admin::problem::extractors)
                .configure(admin::routes)
        })
        .workers(1)
        .disable_signals()
        .listen(admin_listener)
        .map_err(|e| e.to_string())?
        .run();
        actix_rt::spawn(http);

        let sup = supervisor.clone();
        let (hup_tls, hup_objects) = (tls_admin.clone(), objects.clone());
        actix_rt::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) else {
                tracing::error!(event = "signal_setup_failed");
                return;
            };
            // The first TERM/INT drains; the next ones hang calls up at once.
            // HUP re-reads the certificate and the model, and never stops.
            let mut n = 0;
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "TERM",
                    _ = int.recv() => "INT",
                    _ = hup.recv() => "HUP",
                };
                if name == "HUP" {
                    tracing::info!(event = "signal_received", signal = name, action = "reload");
                    let (t, o, s) = (hup_tls.clone(), hup_objects.clone(), sup.clone());
                    let _ = tokio::task::spawn_blocking(move || {
                        if let Some(t) = t {
                            let _ = t.reload();
                        }
                        if let Some(o) = o {
                            match o.config() {
                                Ok(Some((version, cfg))) => {
                                    tracing::info!(event = "model_reloaded", version);
                                    s.do_send(crate::actors::messages::DirectoryChanged(Arc::new(
                                        cfg.directory,
                                    )));
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::warn!(event = "model_reload_refused", error = %e)
                                }
                            }
                        }
                    })
                    .await;
                    continue;
                }
                n += 1;
                let action = if n > 1 { "hang_up" } else { "drain" };
                tracing::info!(event = "signal_received", signal = name, count = n, action);
                sup.do_send(Drain { now: n > 1 });
            }
        });
        Ok::<_, String>(())
    });
    setup?;

    let runtime = Runtime {
        pid: std::process::id(),
        sip_port: ports.plain,
        sip_tls_port: ports.tls,
        admin_url: format!("http://{admin_addr}"),
        admin_tls_url: admin_tls_addr.map(|a| format!("https://{a}")),
        startup_mode: mode,
        role,
    };
    let text = serde_json::to_string_pretty(&runtime).map_err(|e| e.to_string())?;
    std::fs::write(runtime_path(&data), text).map_err(|e| e.to_string())?;

    if let Some(lib) = &self_test_prompts {
        crate::probe::selftest::start(
            &cfg.service,
            &cfg.directory,
            (ports.plain, ports.tls),
            &data,
            lib.clone(),
        );
    }
    print_banner(&cfg, ports, admin_addr, &data, hashed, tls_setup.as_ref());
    tracing::info!(event = "started", fd_limit, startup_mode = %mode.name(), sip_port = ports.plain, sip_tls_port = ports.tls, admin = %admin_addr, data = %data.display());
    let r = sys.run_with_code().map_err(|e| e.to_string());
    let _ = std::fs::remove_file(runtime_path(&data));
    let _ = std::fs::remove_file(crate::tokens::local_path(&data));
    match &r {
        Ok(code) => tracing::info!(event = "stopped", exit_code = code),
        Err(e) => tracing::error!(event = "stopped", error = %e),
    }
    r
}

fn print_banner(
    cfg: &Config,
    ports: SipPorts,
    admin: SocketAddr,
    data: &Path,
    hashed: usize,
    tls: Option<&tls::TlsSetup>,
) {
    let s = &cfg.service;
    let d = &cfg.directory;
    let mut out = String::new();
    out.push_str(&format!(
        "openum {} ({}), role {}, startup mode {:?}\n",
        env!("CARGO_PKG_VERSION"),
        s.fqdn,
        s.role.name(),
        s.startup_mode
    ));
    if s.role == crate::config::Role::Router {
        for n in &s.mailbox_nodes {
            out.push_str(&format!(
                "  mailbox node {} at {}:{} (TLS {})\n",
                n.name, n.address, n.port, n.tls_port
            ));
        }
    }
    if ports.plain != 0 {
        out.push_str(&format!(
            "  SIP      {}:{} TCP{}  (advertised as {})\n",
            s.sip_bind,
            ports.plain,
            if s.udp { " + UDP" } else { "" },
            s.address
        ));
    }
    if let Some(t) = tls {
        out.push_str(&format!(
            "  SIP TLS  {}:{} (mutual TLS)\n",
            s.sip_bind, ports.tls
        ));
        out.push_str(&format!(
            "  cert     {} [{}], {}, valid until {}\n",
            t.info.names.join(", "),
            t.source,
            &t.info.thumbprint[..16],
            t.info.not_after
        ));
        for (what, path) in &t.printed {
            out.push_str(&format!("           {what}: {}\n", path.display()));
        }
    }
    out.push_str(&format!(
        "  RTP      ports {}-{}\n",
        s.rtp_ports.0, s.rtp_ports.1
    ));
    out.push_str(&format!(
        "  admin    http://{admin}/  (bearer token: {}/admin.token; /api/openapi.json, /metrics)\n",
        data.display()
    ));
    out.push_str(&format!(
        "  data     {}  ({} PIN(s) hashed this start)\n",
        data.display(),
        hashed
    ));
    out.push_str(&format!(
        "  limits   MaxCallsAllowed {}\n",
        s.max_calls_allowed
    ));
    for dp in &d.dial_plans {
        out.push_str(&format!(
            "  dial plan {} ({:?}, {} digits, {:?}), pilot(s) {}\n",
            dp.name,
            dp.uri_type,
            dp.extension_digits,
            dp.voip_security,
            dp.access_numbers.join(", ")
        ));
    }
    for aa in &d.auto_attendants {
        out.push_str(&format!(
            "  auto attendant {} on {}{}\n",
            aa.name,
            aa.pilots.join(", "),
            if aa.enabled { "" } else { " (disabled)" }
        ));
    }
    for g in &d.gateways {
        let fqdn = g
            .fqdn
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  IP gateway {} at {}:{}{fqdn}, {:?}\n",
            g.name, g.address, g.port, g.status
        ));
    }
    for m in &d.mailboxes {
        out.push_str(&format!(
            "  mailbox {} {} ({}){}{}\n",
            m.extension,
            m.display_name,
            m.dial_plan,
            m.e164
                .as_deref()
                .map(|e| format!(", {e}"))
                .unwrap_or_default(),
            m.sip_resource_identifier
                .as_deref()
                .map(|e| format!(", sip:{e}"))
                .unwrap_or_default()
        ));
    }
    if ports.plain != 0 {
        out.push_str(&format!(
            "Call sip:1001@{}:{} to leave Alice a message, or sip:4000@… with Diversion: <sip:1001@…>.\n",
            s.address, ports.plain
        ));
    }
    print!("{out}");
}

/// Whether to encode every prompt as Opus at start: in release builds, when a
/// dial plan takes Opus.
fn opus_warmup(cfg: &crate::config::Config) -> bool {
    !cfg!(debug_assertions)
        && cfg.directory.dial_plans.iter().any(|d| {
            d.audio_codecs
                .contains(&crate::media::codec::AudioCodec::Opus)
        })
}

/// A panic (a call actor's bug) is one structured event, and costs microseconds:
/// the default hook resolves a backtrace when `RUST_BACKTRACE` is set, which took
/// over a second of the panicking worker's thread in a debug build, stalling
/// every other call on that worker (their greetings ran late and their messages
/// lost their first half second). A backtrace is captured only with
/// `OPENUM_PANIC_BACKTRACE=1`.
fn install_panic_hook() {
    let backtrace = std::env::var_os("OPENUM_PANIC_BACKTRACE").is_some_and(|v| v == "1");
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        if backtrace {
            let bt = std::backtrace::Backtrace::force_capture();
            tracing::error!(event = "panic", %thread, %location, %message, backtrace = %bt);
        } else {
            tracing::error!(event = "panic", %thread, %location, %message);
        }
    }));
}
