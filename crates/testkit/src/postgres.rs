//! Throwaway databases on the PostgreSQL test cluster (TRESTLE_TEST_POSTGRES_URL).

/// Creates a database named `<prefix>_<random>` on the cluster `cluster_url` points at and
/// returns the URL of the new database, so a test shares no rows or counters with another.
/// The cluster is thrown away after the run; the database is not dropped.
pub async fn create_database(cluster_url: &str, prefix: &str) -> String {
    use sqlx::Connection as _;
    let database_name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(cluster_url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test cluster: {error}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {database_name}"
    )))
    .execute(&mut connection)
    .await
    .unwrap();
    let (cluster_prefix, _) = cluster_url
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("the cluster URL has no database path: {cluster_url}"));
    format!("{cluster_prefix}/{database_name}")
}
