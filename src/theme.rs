#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("x")]
    X,
}
