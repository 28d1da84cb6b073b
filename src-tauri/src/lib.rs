//! The officer's tablet app: a Tauri 2 shell. The state is built once in `setup` ([`App`], whose
//! [`Phase`] is first run, locked or unlocked); every command is a short call into beibao-field
//! (the use cases live there, not here); errors cross to the UI as one shape, `{code, message, …}`
//! (`beibao_field::Problem`), which the UI translates by code.

mod commands;
mod config;
#[cfg(mobile)]
mod position;

use std::path::PathBuf;

use tauri::Manager;

pub use config::Config;

/// Where the app stands.
#[derive(Debug)]
pub enum Phase {
    /// No store on this tablet (first start, or the last one was set aside): set it up. `reason`
    /// says why when a store was set aside (`revoked`).
    FirstRun {
        /// Why the app is back at first run, as a code the UI translates.
        reason: Option<beibao_core::code::Code>,
    },
    /// A store, locked: the PIN pad.
    Locked,
    /// Unlocked: the officer's screens, and the sync that runs beside them.
    Unlocked(Box<Unlocked>),
}

/// An unlocked tablet: the session the screens use and its background syncer (on a connection of
/// its own; it stops when the session locks).
#[derive(Debug)]
pub struct Unlocked {
    session: beibao_field::Session,
    sync: beibao_field::Background,
}

/// The app's state, managed once.
#[derive(Debug)]
pub struct App {
    config: Config,
    phase: tokio::sync::Mutex<Phase>,
}

impl App {
    /// The state for a data dir: first run when it holds no store, else locked.
    pub fn new(config: Config) -> App {
        let phase = if config.store_path().exists() { Phase::Locked } else { Phase::FirstRun { reason: None } };
        App { config, phase: tokio::sync::Mutex::new(phase) }
    }

    fn store_path(&self) -> PathBuf {
        self.config.store_path()
    }
}

/// Build and run the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    // The platform's location service (Android, iOS); desktop has none (see `position`).
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_geolocation::init());
    builder
        .setup(|app| {
            let default_dir = app.path().app_data_dir()?;
            let config = Config::from_env(default_dir)?;
            app.manage(App::new(config));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::check_enrollment,
            commands::first_run,
            commands::unlock,
            commands::lock,
            commands::today,
            commands::village,
            commands::household,
            commands::enterprise,
            commands::reveal,
            commands::access_log,
            commands::search,
            commands::drafts,
            commands::services,
            commands::quote,
            commands::accept_service,
            commands::request,
            commands::advance_service,
            commands::deliver_service,
            commands::rate,
            commands::blob,
            commands::agreement_document,
            commands::record_judicial_confirmation,
            commands::record_recurrence,
            commands::propose_correction,
            commands::report_clue,
            commands::open_mediation,
            commands::mediation,
            commands::edit_mediation,
            commands::sign_mediation,
            commands::finalize_mediation,
            commands::end_mediation,
            commands::record_performance,
            commands::check_id,
            commands::start_visit,
            commands::save_visit_draft,
            commands::visit_draft,
            commands::visit_verdict,
            commands::record_visit,
            commands::discard_draft,
            commands::locate,
            commands::totals,
            commands::log_publicity,
            commands::log_hazard,
            commands::change_pin,
            commands::sync_status,
            commands::sync_now,
            commands::sync_soon,
        ])
        .run(tauri::generate_context!())
        .expect("the app failed to start");
}
