//! The serving engine behind an atomic pointer: readers never wait, a reload replaces engine
//! and state together, and a tenant that fails to compile changes nothing.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tpr_tenant::Tenant;

use crate::engine::{CompileError, Engine};
use crate::state::State;

/// An engine with the state that goes with it.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled tenant.
    pub engine: Arc<Engine>,
    /// Its counters, health and pools.
    pub state: Arc<State>,
}

/// The current [`Loaded`] engine. Calls take a snapshot ([`Router::current`]) when they start
/// and keep it to the end, so calls in flight finish on the engine they started with.
#[derive(Debug)]
pub struct Router {
    current: ArcSwap<Loaded>,
}

impl Router {
    /// Compiles `tenant` and serves it.
    pub fn new(tenant: &Tenant) -> Result<Router, CompileError> {
        let engine = Arc::new(Engine::compile(tenant)?);
        let state = Arc::new(State::new(&engine));
        Ok(Router { current: ArcSwap::from_pointee(Loaded { engine, state }) })
    }

    /// The engine and state serving now.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Compiles `tenant` and, if that succeeds, serves it from now on. On error nothing
    /// changes. When the capacity key layout is unchanged (same numbers, gateways, trunks
    /// and limits), the new engine keeps counting on the old ledger, so calls in flight
    /// still count against the limits; otherwise new calls start on a fresh ledger.
    pub fn reload(&self, tenant: &Tenant) -> Result<(), CompileError> {
        let engine = Engine::compile(tenant)?;
        let old = self.current.load();
        let same_layout = old.engine.ledger_layout().same_layout(engine.ledger_layout());
        let state = if same_layout {
            State::with_ledger(&engine, old.state.ledger.clone())
        } else {
            State::new(&engine)
        };
        self.current.store(Arc::new(Loaded { engine: Arc::new(engine), state: Arc::new(state) }));
        Ok(())
    }
}
