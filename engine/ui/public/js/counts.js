// Open incidents and open tasks for the navigation badges (one page each: "500+" when more follow).
import { usePoll } from './lib.js';
import { api } from './api.js';

export function useCounts() {
  const { data } = usePoll(async () => {
    // Each list on its own: a reviewer may read tasks but not incidents, and that refusal must
    // not hide the task badge too.
    const settled = await Promise.allSettled([
      api('/api/incidents?state=open&limit=500'),
      api('/api/tasks?state=open&limit=500'),
    ]);
    const [incidents, tasks] = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    const count = (list, page) => (list === undefined ? 0 : page?.nextOffset != null ? `${list.length}+` : list.length);
    return {
      incidents: count(incidents?.incidents, incidents?.page),
      tasks: count(tasks?.tasks, tasks?.page),
    };
  });
  return data ?? { incidents: 0, tasks: 0 };
}
