#!/usr/bin/env python3
"""Statistics and tables for benches/compare.sh (python3 stdlib only).

    tables.py micro-parse SIDE ROUND < bench-output >> micro.tsv
    tables.py micro micro.tsv [--md FILE]
    tables.py echo echo.tsv [--md FILE]

micro-parse turns benchmark lines `name value unit  # comment` into rows
`SIDE ROUND name value unit`. A line with a count before the value
(`name N value unit`, as wake_many prints) becomes the metric `name[N]`.
Lines that start with '#', or do not parse, are skipped.

echo.tsv rows are `mode server case round metric value`, one per loadgen
output line (compare.sh writes them); a servers.tsv beside it (`name
command`) names the command line each server ran with.

Every cell is the median over the rounds, followed by (min-max) when there
was more than one round. A ratio cell is the median (min-max) of the
per-round ratios, since the rounds interleave the servers: the crate's
round r is compared with the other server's round r.

--md appends the same tables as markdown to FILE.
"""
import os
import statistics
import sys
from collections import OrderedDict, defaultdict

SERVER_ORDER = ['crate', 'crate_h2', 'libev', 'libev_t2', 'tokio', 'tokio_mt', 'gevent']
SERVER_NOTE = {
    'crate': 'examples/echoserver_bench, 1 hub',
    'crate_h2': 'examples/echoserver_bench --hubs 2',
    'libev': 'ev_echo.c, 1 loop',
    'libev_t2': 'ev_echo.c --threads 2 (2 SO_REUSEPORT loops)',
    'tokio': 'tokio_echo --flavor current',
    'tokio_mt': 'tokio_echo --flavor multi',
    'gevent': 'gevent 26.9.0 StreamServer',
}
CASE_ORDER = ['c1', 'c50', 'c500', 'c50_ls', 'c500_ls', 'c10000_ls']
ECHO_COLUMNS = [
    ('echo_rps', 'rps'),
    ('echo_p50', 'p50 us'),
    ('echo_p99', 'p99 us'),
    ('echo_p999', 'p999 us'),
    ('srv_cpu_us_per_req', 'srv_cpu us/req'),
    ('gen_cpu_us_per_req', 'gen_cpu us/req'),
]


def fmt(x):
    if x is None:
        return '-'
    ax = abs(x)
    if ax >= 100:
        return '%.0f' % x
    if ax >= 10:
        return '%.1f' % x
    return '%.2f' % x


def fmt_ratio(x):
    return '-' if x is None else '%.2f' % x


def cell(values, f=fmt):
    """median (min-max) of a list, or '-'."""
    if not values:
        return '-'
    med = f(statistics.median(values))
    if len(values) == 1:
        return med
    return '%s (%s-%s)' % (med, f(min(values)), f(max(values)))


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


class Table:
    """A table printed aligned for the terminal and as markdown."""

    def __init__(self, title, header, right_from=1):
        self.title = title
        self.header = header
        self.rows = []
        self.right_from = right_from

    def add(self, row):
        self.rows.append([str(c) for c in row])

    def text(self):
        widths = [max(len(r[i]) for r in [self.header] + self.rows)
                  for i in range(len(self.header))]
        out = [self.title]

        def line(r):
            cells = []
            for i, c in enumerate(r):
                cells.append(c.rjust(widths[i]) if i >= self.right_from else c.ljust(widths[i]))
            return '  '.join(cells).rstrip()

        out.append(line(self.header))
        out.append('  '.join('-' * w for w in widths))
        out.extend(line(r) for r in self.rows)
        return '\n'.join(out) + '\n'

    def markdown(self):
        out = ['### ' + self.title, '']
        out.append('| ' + ' | '.join(self.header) + ' |')
        out.append('|' + '|'.join('---' if i < self.right_from else '---:'
                                  for i in range(len(self.header))) + '|')
        out.extend('| ' + ' | '.join(r) + ' |' for r in self.rows)
        return '\n'.join(out) + '\n\n'


def emit(tables, md_path):
    for t in tables:
        sys.stdout.write(t.text() + '\n')
    if md_path:
        with open(md_path, 'a') as f:
            for t in tables:
                f.write(t.markdown())


def read_tsv(path, width):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) == width:
                rows.append(parts)
    return rows


# ---------------------------------------------------------------- micro

def micro_parse(side, rnd):
    for line in sys.stdin:
        line = line.split('#', 1)[0].strip()
        toks = line.split()
        if len(toks) < 3 or not is_number(toks[1]):
            continue
        name = toks[0]
        nums = []
        i = 1
        while i < len(toks) and is_number(toks[i]):
            nums.append(toks[i])
            i += 1
        if i >= len(toks):
            continue  # no unit
        if len(nums) > 1:
            name = '%s[%s]' % (name, ','.join(nums[:-1]))
        sys.stdout.write('%s\t%s\t%s\t%s\t%s\n' % (side, rnd, name, nums[-1], toks[i]))


def micro_tables(path, md_path):
    vals = defaultdict(lambda: defaultdict(dict))  # name -> side -> round -> value
    units = {}
    order = OrderedDict()
    for side, rnd, name, value, unit in read_tsv(path, 5):
        vals[name][side][rnd] = float(value)
        units.setdefault(name, {})[side] = unit
        order.setdefault((0 if side == 'crate' else 1, name), None)
    names = []
    for _, name in sorted(order, key=lambda k: k[0]):
        if name not in names:
            names.append(name)
    t = Table('micro: medians over rounds (min-max); gevent/crate > 1 means the crate takes less',
              ['name', 'unit', 'gevent', 'crate', 'gevent/crate'], right_from=2)
    for name in names:
        g, c = vals[name].get('gevent', {}), vals[name].get('crate', {})
        u = units[name]
        unit = u.get('crate') or u.get('gevent')
        if 'crate' in u and 'gevent' in u and u['crate'] != u['gevent']:
            unit = '%s vs %s' % (u['gevent'], u['crate'])
            ratios = []
        else:
            ratios = [g[r] / c[r] for r in g if r in c and c[r] != 0]
        t.add([name, unit, cell(list(g.values())), cell(list(c.values())),
               cell(ratios, fmt_ratio)])
    emit([t], md_path)


# ---------------------------------------------------------------- echo

def echo_tables(path, md_path):
    # (mode, server, case) -> metric -> round -> value
    data = defaultdict(lambda: defaultdict(dict))
    modes = []
    for mode, server, case, rnd, metric, value in read_tsv(path, 6):
        if not is_number(value):
            continue
        data[(mode, server, case)][metric][rnd] = float(value)
        if mode not in modes:
            modes.append(mode)

    def rank(lst, x):
        return lst.index(x) if x in lst else len(lst)

    tables = []
    for mode in modes:
        keys = sorted((k for k in data if k[0] == mode),
                      key=lambda k: (rank(SERVER_ORDER, k[1]), k[1],
                                     rank(CASE_ORDER, k[2]), k[2]))
        t = Table('echo %s: medians over rounds (min-max)' % mode,
                  ['server', 'case'] + [c[1] for c in ECHO_COLUMNS], right_from=2)
        for k in keys:
            t.add([k[1], k[2]] + [cell(list(data[k][m].values())) for m, _ in ECHO_COLUMNS])
        tables.append(t)

    def ratio(mode, a, b, case, metric):
        x = data.get((mode, a, case), {}).get(metric, {})
        y = data.get((mode, b, case), {}).get(metric, {})
        return [x[r] / y[r] for r in x if r in y and y[r] != 0]

    t = Table('echo ratios: per-round ratios, median (min-max); below 1 is better for the crate '
              'in srv_cpu and p99', ['mode', 'case', 'crate/libev srv_cpu', 'crate/libev p99',
                                     'crate/tokio srv_cpu', 'crate/tokio p99'], right_from=2)
    for mode in modes:
        cases = sorted({k[2] for k in data if k[0] == mode}, key=lambda c: (rank(CASE_ORDER, c), c))
        for case in cases:
            t.add([mode, case,
                   cell(ratio(mode, 'crate', 'libev', case, 'srv_cpu_us_per_req'), fmt_ratio),
                   cell(ratio(mode, 'crate', 'libev', case, 'echo_p99'), fmt_ratio),
                   cell(ratio(mode, 'crate', 'tokio', case, 'srv_cpu_us_per_req'), fmt_ratio),
                   cell(ratio(mode, 'crate', 'tokio', case, 'echo_p99'), fmt_ratio)])
    tables.append(t)

    multi = Table('echo multi-core rps ratios (2core): above 1 means the crate serves more',
                  ['mode', 'case', 'crate_h2/tokio_mt rps', 'crate_h2/libev_t2 rps'], right_from=2)
    for mode in modes:
        if mode != '2core':
            continue
        for case in ['c500_ls'] + [c for c in CASE_ORDER if c != 'c500_ls']:
            a = ratio(mode, 'crate_h2', 'tokio_mt', case, 'echo_rps')
            b = ratio(mode, 'crate_h2', 'libev_t2', case, 'echo_rps')
            has_case = any(k[0] == mode and k[2] == case for k in data)
            if a or b or (case == 'c500_ls' and has_case):
                multi.add([mode, case, cell(a, fmt_ratio), cell(b, fmt_ratio)])
    if multi.rows:
        tables.append(multi)

    # compare.sh leaves the command line of each server beside echo.tsv.
    commands = {}
    cmd_path = os.path.join(os.path.dirname(path), 'servers.tsv')
    if os.path.exists(cmd_path):
        commands = dict(read_tsv(cmd_path, 2))
    servers = sorted({k[1] for k in data}, key=lambda s: (rank(SERVER_ORDER, s), s))
    legend = Table('servers', ['server', 'what', 'command'], right_from=3)
    for s in servers:
        legend.add([s, SERVER_NOTE.get(s, ''), commands.get(s, '')])
    tables.append(legend)
    emit(tables, md_path)


def main(argv):
    md = None
    if '--md' in argv:
        i = argv.index('--md')
        md = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) == 3 and argv[0] == 'micro-parse':
        micro_parse(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == 'micro':
        micro_tables(argv[1], md)
    elif len(argv) == 2 and argv[0] == 'echo':
        echo_tables(argv[1], md)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
