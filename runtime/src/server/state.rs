//! The server's state: what every HTTP connection of an app shares
//! ([`Shared`]), and the routes as the router holds them ([`Mounted`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::AllowedHosts;
use crate::config::Config;
use crate::connection::{Env, RouteRt, StateMap};
use crate::error::{Error, Result};
use crate::extract::{CheckCx, Needs};
use crate::hooks::Plan;
use crate::limits::Gate;
use crate::metrics::Metrics;
use crate::route::RouteDef;
use crate::router::{self, Router};
use crate::server::Page;

/// A route as the router holds it: what the macro emitted, and what its
/// connections run with.
#[derive(Debug, Clone)]
pub(crate) struct Mounted {
    pub(crate) def: &'static RouteDef,
    pub(crate) rt: Arc<RouteRt>,
}

/// What every HTTP connection of an app shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// What the connections share (the hub, the app's state, shutdown signals).
    pub(crate) env: Arc<Env>,
    pub(crate) config: Config,
    pub(crate) router: Router<Mounted>,
    /// The routes the router holds, in path order.
    pub(crate) defs: Vec<&'static RouteDef>,
    pub(crate) pages: HashMap<String, Page>,
    pub(crate) metrics: Option<Metrics>,
    /// The hosts the default origin policy accepts (known once bound).
    pub(crate) allowed_hosts: AllowedHosts,
    /// The caps and rates applied before an upgrade (`Config::max_sockets`, ...).
    pub(crate) gate: Gate,
}

impl Shared {
    /// Counts a refused handshake.
    pub(crate) fn reject(&self, route: &str, why: crate::metrics::Rejected) {
        tracing::debug!(route, reason = ?why, "handshake rejected");
        if let Some(m) = &self.metrics {
            m.reject(route, why);
        }
    }
}

/// Checks each route's extractors against the app, resolves its options
/// once, and builds the router (duplicates are an error naming both).
pub(crate) fn mount(
    config: &Config,
    state: &StateMap,
    routes: &[&'static RouteDef],
    metrics: Option<&Metrics>,
) -> Result<Router<Mounted>> {
    let mut mounted = Vec::with_capacity(routes.len());
    for &def in routes {
        let opts = def.options.resolve(config);
        let mut plan = Plan::default();
        (def.plan)(&mut plan);
        plan.needs = Needs::combine(&[def.needs, plan.needs]);
        let cx = CheckCx {
            params: def.params,
            state,
            has_auth: opts.auth.is_some(),
            sessions: &plan.sessions,
            before_open: false,
            sends: opts.sends,
        };
        (def.check)(&cx).map_err(|e| Error::Route {
            path: def.path,
            handler: def.handler,
            at: def.location(),
            reason: e.into(),
        })?;
        let metrics = metrics.map(|m| m.route(def.path)).transpose().map_err(Error::Metrics)?;
        let rt = Arc::new(RouteRt::new(def.path, def.params, def.kinds, opts, metrics, plan.needs, plan.sessions));
        mounted.push((def, Mounted { def, rt }));
    }
    router::build(mounted, |m| m.def)
}
