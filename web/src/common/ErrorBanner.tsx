interface Props {
  message: string | null | undefined;
  testId: string;
  onDismiss?: () => void;
}

/** An assertive alert; renders nothing without a message. */
export function ErrorBanner({ message, testId, onDismiss }: Props) {
  if (!message) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid={testId}>
      <span className="banner-text">{message}</span>
      {onDismiss && (
        <button type="button" className="btn-icon" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
