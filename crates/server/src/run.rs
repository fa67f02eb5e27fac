//! Binding, serving with graceful shutdown, and the first-run administrator.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use trestle_store::{Store, StoreError};

use crate::router::build_router;
use crate::state::AppState;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not create the first administrator: {0}")]
    FirstRun(#[from] StoreError),
}

impl ServeError {
    /// Stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::Bind { .. } => "LISTEN_FAILED",
            ServeError::Io(_) => "SERVER_IO_ERROR",
            ServeError::FirstRun(_) => "FIRST_RUN_FAILED",
        }
    }
}

/// Binds the configured address. Separate from [`serve`] so the caller can print the real
/// address (port 0 picks a free port).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })
}

/// Serves until `shutdown` completes, then stops accepting connections and lets in-flight
/// requests finish, for at most `config.shutdown_grace_seconds`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let grace = Duration::from_secs(state.config.shutdown_grace_seconds);
    let router = build_router(state);
    let (shutdown_started_sender, shutdown_started_receiver) = tokio::sync::oneshot::channel();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = shutdown_started_sender.send(());
    });
    let server_task = tokio::spawn(async move { server.await });
    tokio::pin!(server_task);
    tokio::select! {
        finished = &mut server_task => {
            return finished.map_err(|join_error| ServeError::Io(std::io::Error::other(join_error)))?.map_err(ServeError::Io);
        }
        _ = shutdown_started_receiver => {}
    }
    match tokio::time::timeout(grace, &mut server_task).await {
        Ok(finished) => finished
            .map_err(|join_error| ServeError::Io(std::io::Error::other(join_error)))?
            .map_err(ServeError::Io),
        Err(_) => {
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                "requests still running after the shutdown grace period; stopping anyway"
            );
            server_task.abort();
            Ok(())
        }
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C). The handlers are registered when this is called
/// (not when first polled), so call it before announcing that the server is up: a signal
/// that arrives right after the announcement is then a graceful shutdown, not a kill.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let wait_terminate = async {
                match terminate {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let wait_interrupt = async {
                match interrupt {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait_terminate => {}
                () = wait_interrupt => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The administrator created on the very first start, with its one-time password.
#[derive(Debug, Clone)]
pub struct FirstRunAdmin {
    pub email: String,
    pub one_time_password: String,
    pub organization_name: String,
}

/// The email of the first-run administrator.
pub const FIRST_RUN_ADMIN_EMAIL: &str = "admin@trestle.localhost";
const FIRST_RUN_ORGANIZATION_NAME: &str = "My organization";

/// On an empty database, creates the platform administrator (with a one-time password that
/// must be changed at first sign-in) and a first organization it administers. Returns `None`
/// when any user exists already, so the password is shown exactly once. Safe when several
/// processes start at once: the unique email lets only one of them create it.
pub async fn ensure_first_run_admin(store: &Store) -> Result<Option<FirstRunAdmin>, StoreError> {
    if store.platform_admins().any_user_exists().await? {
        return Ok(None);
    }
    let one_time_password = trestle_store::password::generate_one_time_password();
    let password_for_hashing = one_time_password.clone();
    let password_hash = tokio::task::spawn_blocking(move || {
        trestle_store::password::hash_password(&password_for_hashing)
    })
    .await
    .map_err(|join_error| StoreError::PasswordHashing {
        message: join_error.to_string(),
    })??;
    // One transaction: the user, the organization, the membership, the grant and the audit
    // entry exist together or not at all. When another process started at the same moment and
    // won, the unique email stops us and that process prints the password.
    let mut transaction = store.begin_write().await?;
    let user = match store
        .users()
        .create_in(
            &mut transaction,
            &trestle_store::NewUser {
                email: FIRST_RUN_ADMIN_EMAIL,
                display_name: "Administrator",
                password_hash: &password_hash,
                must_change_password: true,
            },
        )
        .await
    {
        Ok(user) => user,
        Err(StoreError::AlreadyExists { .. }) => {
            transaction.rollback().await?;
            return Ok(None);
        }
        Err(other) => return Err(other),
    };
    let created = store
        .organizations()
        .create_in(&mut transaction, FIRST_RUN_ORGANIZATION_NAME)
        .await?;
    store
        .memberships()
        .add_in(
            &mut transaction,
            created.organization.id,
            user.id,
            trestle_store::Role::Admin,
        )
        .await?;
    store
        .platform_admins()
        .grant_in(&mut transaction, user.id)
        .await?;
    store
        .audit()
        .record_in(
            &mut transaction,
            &trestle_store::NewAuditEntry {
                actor: trestle_store::Actor::System,
                organization_id: Some(created.organization.id),
                action: "first_run.admin_created",
                target_kind: Some("user"),
                target_id: Some(user.id.to_string()),
                details: serde_json::json!({ "email": user.email }),
            },
        )
        .await?;
    transaction.commit().await?;
    Ok(Some(FirstRunAdmin {
        email: user.email,
        one_time_password,
        organization_name: created.organization.name,
    }))
}
