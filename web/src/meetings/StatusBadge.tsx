import { statusTone } from './format';

interface Props {
  status: string;
  testId?: string;
}

export function StatusBadge({ status, testId }: Props) {
  return (
    <span className={`status status-${statusTone(status)}`} data-testid={testId}>
      {status}
    </span>
  );
}
