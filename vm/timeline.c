/*
** vm/timeline.c -- the GIL event trace as a self-contained HTML timeline.
** See LICENSE for copyright and licence (MIT).
**
** One lane per thread (the main thread first, then the others by name, in
** natural order so that "w10" comes after "w9"), a time axis, a legend, and
** on each lane's right its share of time running / waiting / blocked.
** Plain SVG inside one HTML file: no network, no script needed to see it
** (a few lines of script add a cursor that reads the time).
**
** Why buckets, not one bar per span: a 10-second run of 8 threads at the
** default 5 ms interval has thousands of spans per lane, each well under a
** pixel wide; drawn one by one, the last colour painted wins and the lanes
** look uniformly "waiting". So the time axis is cut into buckets of 2 px,
** and each bucket draws, stacked from the bottom of the bar, the fraction
** of it the thread spent running, waiting and blocked. A zoomed-in trace
** (spans wider than a bucket) looks exactly like bars; a dense one shows
** each thread's true share at every moment. Drop requests are marked as
** one tick per bucket that had any.
*/

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gil.h"
#include "istate.h"
#include "trace.h"

#define WIDTH     1200.0   /* px of the time axis */
#define LEFT      140.0    /* px for the lane names */
#define RIGHT     230.0    /* px for the lane summaries */
#define LANE      30.0     /* px per lane */
#define BAR       20.0     /* px of the bar inside a lane */
#define TOP       44.0     /* px above the first lane */
#define BUCKET    2.0      /* px per bucket */
#define NSTATES   3


static const char *const colours[NSTATES] = {"#2e9e44", "#f0b429",
                                             "#9aa0b4"};
static const char *const statenames[NSTATES] = {
  "running (holds the GIL)", "waiting for the GIL",
  "blocked (sleep, I/O, waits)"};


typedef struct Lane {
  char *name;
  int tid;
  double total[NSTATES];   /* ns in each state */
  float *time;             /* nbuckets * NSTATES: ns in each state */
  unsigned char *request;  /* nbuckets: a drop request happened */
} Lane;


typedef struct Html {
  FILE *f;
  int pass;                /* 0: lanes and length, 1: fill the buckets */
  int nlanes, nbuckets, failed;
  Lane *lanes;             /* by tid - 1 */
  long end;                /* ns: the last moment seen */
  double bucket_ns;        /* ns per bucket */
} Html;


static void escape (FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}


/*
** {======================================================
** Collecting: the visitor's callbacks
** =======================================================
*/

static void on_thread (void *ud, int tid, const char *name) {
  Html *h = ud;
  if (h->pass != 0 || h->failed)
    return;
  if (tid > h->nlanes) {  /* tids come as 1, 2, 3...: grow to fit */
    Lane *l = realloc(h->lanes, (size_t)tid * sizeof *l);
    if (l == NULL) {
      h->failed = 1;
      return;
    }
    h->lanes = l;
    for (; h->nlanes < tid; h->nlanes++)
      l[h->nlanes] = (Lane){NULL, h->nlanes + 1, {0, 0, 0}, NULL, NULL};
  }
  free(h->lanes[tid - 1].name);
  h->lanes[tid - 1].name = strdup(name);
  if (h->lanes[tid - 1].name == NULL)
    h->failed = 1;
}


static void on_span (void *ud, int tid, int state, long t0, long t1) {
  Html *h = ud;
  if (h->pass == 0) {
    if (t1 > h->end)
      h->end = t1;
    return;
  }
  if (h->failed || tid > h->nlanes)
    return;
  Lane *l = &h->lanes[tid - 1];
  l->total[state] += (double)(t1 - t0);
  /* spread [t0, t1) over the buckets it covers */
  for (int b = (int)(t0 / h->bucket_ns); b < h->nbuckets; b++) {
    double b0 = b * h->bucket_ns, b1 = b0 + h->bucket_ns;
    double lo = t0 > b0 ? t0 : b0, hi = t1 < b1 ? t1 : b1;
    if (hi > lo)
      l->time[b * NSTATES + state] += (float)(hi - lo);
    if (t1 <= b1)
      break;
  }
}


static void on_instant (void *ud, int tid, long t) {
  Html *h = ud;
  if (h->pass == 0 || h->failed || tid > h->nlanes)
    return;
  int b = (int)(t / h->bucket_ns);
  h->lanes[tid - 1].request[b < h->nbuckets ? b : h->nbuckets - 1] = 1;
}

/* }====================================================== */


/*
** {======================================================
** Lane order: by interpreter; the main thread first, then names in
** natural order
** =======================================================
*/

/* strcmp, but runs of digits compare as numbers: "w9" < "w10". */
static int natcmp (const char *a, const char *b) {
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      while (*a == '0') a++;
      while (*b == '0') b++;
      size_t na = 0, nb = 0;
      while (isdigit((unsigned char)a[na])) na++;
      while (isdigit((unsigned char)b[nb])) nb++;
      if (na != nb)
        return na < nb ? -1 : 1;
      int c = strncmp(a, b, na);
      if (c != 0)
        return c;
      a += na;
      b += nb;
    }
    else if (*a != *b)
      return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    else
      a++, b++;
  }
  return *a ? 1 : *b ? -1 : 0;
}


/* The interpreter of a lane named "[N] name" (vm/trace.c), and its name
** past that; 1 and the name for the first interpreter's. */
static long interpof (const char **name) {
  const char *s = *name;
  char *end;
  long id;
  if (s[0] != '[' || !isdigit((unsigned char)s[1]))
    return 1;
  id = strtol(s + 1, &end, 10);
  if (end[0] != ']' || end[1] != ' ')
    return 1;
  *name = end + 2;
  return id;
}


/* By interpreter, then the main thread first, then names. */
static int lanecmp (const void *pa, const void *pb) {
  const Lane *a = pa, *b = pb;
  const char *na = a->name ? a->name : "", *nb = b->name ? b->name : "";
  long ia = interpof(&na), ib = interpof(&nb);
  int ma = strcmp(na, "MainThread") == 0, mb = strcmp(nb, "MainThread") == 0;
  int c = ia != ib ? (ia < ib ? -1 : 1) : mb - ma;
  if (c == 0)
    c = natcmp(na, nb);
  return c != 0 ? c : a->tid - b->tid;  /* equal names: first seen first */
}

/* }====================================================== */


/*
** {======================================================
** Drawing
** =======================================================
*/

static double lane_y (int k) {
  return TOP + k * LANE;
}


/* A lane: its background, name, bars, drop-request ticks and summary. */
static void draw_lane (Html *h, const Lane *l, int k) {
  double y = lane_y(k), all = 0;
  for (int s = 0; s < NSTATES; s++)
    all += l->total[s];
  if (all <= 0)
    all = 1;
  fprintf(h->f, "<g class=\"lane\"><title>");
  escape(h->f, l->name ? l->name : "?");
  fprintf(h->f, ": running %.3f s, waiting %.3f s, blocked %.3f s</title>\n"
          "<rect x=\"0\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"%s\"/>\n<text x=\"6\" y=\"%.1f\">", l->total[0] / 1e9,
          l->total[1] / 1e9, l->total[2] / 1e9, y, LEFT + WIDTH + RIGHT,
          LANE, k % 2 ? "#ffffff" : "#f3f4f7", y + LANE / 2 + 4);
  escape(h->f, l->name ? l->name : "?");
  fputs("</text>\n", h->f);
  for (int s = 0; s < NSTATES; s++) {
    fprintf(h->f, "<path fill=\"%s\" d=\"", colours[s]);
    double bottom = y + (LANE - BAR) / 2 + BAR;
    int run0 = -1;
    double ry = 0, rh = 0;
    for (int b = 0; b <= h->nbuckets; b++) {
      double by = 0, bh = 0;
      if (b < h->nbuckets) {
        const float *t = &l->time[b * NSTATES];
        double below = 0;
        for (int j = 0; j < s; j++)
          below += t[j];
        /* half-pixel steps, so that similar buckets merge */
        double y0 = fmin(round(below / h->bucket_ns * BAR * 2) / 2, BAR);
        double y1 = fmin(round((below + t[s]) / h->bucket_ns * BAR * 2) / 2,
                         BAR);
        by = bottom - y1;
        bh = y1 - y0;
      }
      if (run0 >= 0 && (by != ry || bh != rh)) {  /* close the run */
        fprintf(h->f, "M%.0f %.1fh%.0fv%.1fh-%.0fz", LEFT + run0 * BUCKET,
                ry, (b - run0) * BUCKET, rh, (b - run0) * BUCKET);
        run0 = -1;
      }
      if (run0 < 0 && bh > 0) {  /* open one */
        run0 = b;
        ry = by;
        rh = bh;
      }
    }
    fputs("\"/>\n", h->f);
  }
  /* drop requests: a tick above the bar per bucket that had one */
  fputs("<path stroke=\"#c0392b\" stroke-width=\"1\" d=\"", h->f);
  for (int b = 0; b < h->nbuckets; b++)
    if (l->request[b])
      fprintf(h->f, "M%.0f %.1fv4", LEFT + b * BUCKET + 1, y + 1);
  fputs("\"/>\n", h->f);
  fprintf(h->f, "<text x=\"%.1f\" y=\"%.1f\" class=\"sum\">"
          "run %.0f%% \xc2\xb7 wait %.0f%% \xc2\xb7 blocked %.0f%%</text>"
          "</g>\n", LEFT + WIDTH + 10, y + LANE / 2 + 4,
          100 * l->total[0] / all, 100 * l->total[1] / all,
          100 * l->total[2] / all);
}


/* The time axis: five to ten ticks at round numbers, in s, ms or us. */
static void axis (Html *h, double y) {
  double end = (double)h->end, unit = 1e9;
  const char *uname = "s";
  if (end < 2e3 * 1e3) unit = 1e3, uname = "\xc2\xb5s";
  else if (end < 2e9) unit = 1e6, uname = "ms";
  double span = end / unit;
  double step = pow(10, floor(log10(span > 0 ? span : 1)));
  if (span / step < 4) step /= 5;
  else if (span / step < 8) step /= 2;
  fprintf(h->f, "<path stroke=\"#333\" d=\"M%.1f %.1fH%.1f", LEFT, y,
          LEFT + WIDTH);
  for (double t = 0; t <= span + 1e-9; t += step)
    fprintf(h->f, "M%.1f %.1fv5", LEFT + t * unit / h->bucket_ns * BUCKET, y);
  fputs("\"/>\n", h->f);
  for (double t = 0; t <= span + 1e-9; t += step)
    fprintf(h->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
            "%g %s</text>\n", LEFT + t * unit / h->bucket_ns * BUCKET,
            y + 18, t, uname);
}


static void legend (Html *h, double y) {
  double x = LEFT;
  for (int i = 0; i < NSTATES; i++) {
    fprintf(h->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"12\" "
            "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
            x, y, colours[i], x + 24, y + 11, statenames[i]);
    x += 240;
  }
  fprintf(h->f, "<path stroke=\"#c0392b\" stroke-width=\"2\" "
          "d=\"M%.1f %.1fv12\"/><text x=\"%.1f\" y=\"%.1f\">drop request "
          "(to the holder)</text>\n", x + 8, y, x + 16, y + 11);
}


/* The cursor: a line that follows the mouse and reads the time. Also
** tells a test what rendered (data-lanes) and whether a script failed. */
static const char cursor_js[] =
  "<script>\n"
  "(function () {\n"
  "  var errors = 0;\n"
  "  window.addEventListener('error', function () {\n"
  "    document.body.dataset.errors = ++errors; });\n"
  "  var svg = document.querySelector('svg');\n"
  "  var line = document.getElementById('cursor');\n"
  "  var label = document.getElementById('cursortime');\n"
  "  var left = +svg.dataset.left, width = +svg.dataset.width;\n"
  "  var end = +svg.dataset.end;\n"
  "  svg.addEventListener('mousemove', function (e) {\n"
  "    var x = e.clientX - svg.getBoundingClientRect().left;\n"
  "    if (x < left || x > left + width) { line.style.display = 'none';"
  " return; }\n"
  "    line.style.display = '';\n"
  "    line.setAttribute('x1', x); line.setAttribute('x2', x);\n"
  "    var t = (x - left) / width * end;\n"
  "    label.textContent = t < 1 ? (t * 1000).toFixed(3) + ' ms'"
  " : t.toFixed(4) + ' s';\n"
  "  });\n"
  "  document.body.dataset.lanes ="
  " document.querySelectorAll('g.lane').length;\n"
  "  document.body.dataset.errors = errors;\n"
  "})();\n"
  "</script>\n";


static void draw (Html *h) {
  FILE *f = h->f;
  double height = TOP + h->nlanes * LANE + 40;
  lg_IState *I = lg_istate_main();  /* the first interpreter's */
  double interval = I != NULL && I->gil != NULL ? lg_gil_getinterval(I)
                                                : LG_DEFAULT_INTERVAL;
  fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
          "<title>luagil GIL timeline</title>\n<style>body{font-family:"
          "sans-serif;margin:16px}svg text{font-size:13px}svg text.sum"
          "{font-size:12px;fill:#444}#cursortime{font-family:monospace}"
          "</style></head>\n<body><h3>luagil: who held the GIL \xe2\x80\x94"
          " %d thread%s, %.3f s, switch interval %g ms <span id=\"cursortime\">"
          "</span></h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
          "width=\"%.0f\" height=\"%.0f\" data-left=\"%.0f\" "
          "data-width=\"%.0f\" data-end=\"%.9f\">\n", h->nlanes,
          h->nlanes == 1 ? "" : "s", (double)h->end / 1e9, interval * 1e3,
          LEFT + WIDTH + RIGHT, height, LEFT, h->nbuckets * BUCKET,
          h->nbuckets * h->bucket_ns / 1e9);
  legend(h, 8);
  qsort(h->lanes, (size_t)h->nlanes, sizeof *h->lanes, lanecmp);
  for (int k = 0; k < h->nlanes; k++)
    draw_lane(h, &h->lanes[k], k);
  axis(h, TOP + h->nlanes * LANE + 6);
  fprintf(f, "<line id=\"cursor\" x1=\"0\" x2=\"0\" y1=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"#000\" stroke-dasharray=\"3 3\" style=\"display:none\"/>"
          "\n</svg>\n", TOP, TOP + h->nlanes * LANE);
  fputs(cursor_js, f);
  fputs("</body></html>\n", f);
}

/* }====================================================== */


/*
** Leave out the lanes of threads that were in no state at all during the
** recording: a thread that only ended (its last event came after the
** recording began) has nothing to draw.
*/
static void drop_empty (Html *h) {
  int n = 0;
  for (int k = 0; k < h->nlanes; k++) {
    Lane *l = &h->lanes[k];
    int empty = l->total[0] + l->total[1] + l->total[2] <= 0;
    for (int b = 0; b < h->nbuckets && empty; b++)
      empty = !l->request[b];
    if (empty) {
      free(l->name);
      free(l->time);
      free(l->request);
    }
    else
      h->lanes[n++] = *l;
  }
  h->nlanes = n;
}


int lg_trace_write_html (FILE *f) {
  Html h = {f, 0, 0, 0, 0, NULL, 0, 0};
  lg_TraceVisitor v = {on_thread, on_span, on_instant, &h};
  lg_trace_visit(&v);  /* pass 0: the lanes and how long */
  h.nbuckets = (int)(WIDTH / BUCKET);
  if (h.nlanes > 64)  /* keep the memory and the file small */
    h.nbuckets /= 4;
  h.bucket_ns = (double)(h.end > 0 ? h.end : 1) / h.nbuckets;
  for (int k = 0; k < h.nlanes && !h.failed; k++) {
    h.lanes[k].time = calloc((size_t)h.nbuckets * NSTATES, sizeof(float));
    h.lanes[k].request = calloc((size_t)h.nbuckets, 1);
    if (h.lanes[k].time == NULL || h.lanes[k].request == NULL)
      h.failed = 1;
  }
  if (!h.failed) {
    h.pass = 1;
    lg_trace_visit(&v);
  }
  if (!h.failed) {
    drop_empty(&h);
    draw(&h);
  }
  for (int k = 0; k < h.nlanes; k++) {
    free(h.lanes[k].name);
    free(h.lanes[k].time);
    free(h.lanes[k].request);
  }
  free(h.lanes);
  return h.failed || ferror(f) ? -1 : 0;
}
