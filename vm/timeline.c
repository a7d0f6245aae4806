/*
** vm/timeline.c -- the GIL event trace as a self-contained HTML timeline.
** See LICENSE for copyright and licence (MIT).
**
** One lane per thread, a bar per span coloured by state (running, waiting
** for the GIL, blocked), ticks for drop requests, a time axis and a legend.
** Plain SVG inside one HTML file: no network, no script needed to see it.
** Spans narrower than a fifth of a pixel are merged into the bar before
** them, so a 10-second run of 8 threads stays a few thousand elements.
*/

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define WIDTH     1200.0   /* px of the time axis */
#define LEFT      150.0    /* px for the lane names */
#define LANE      28.0     /* px per lane */
#define TOP       40.0     /* px above the first lane */
#define MIN_PX    0.2      /* spans narrower than this are merged */


static const char *const colours[] = {"#2e9e44", "#e8a21a", "#8c8c9c"};
static const char *const statenames[] = {
  "running", "waiting for the GIL", "blocked (sleep, I/O, waits)"};


typedef struct Html {
  FILE *f;
  int pass;                /* 0: measure, 1: draw */
  int nlanes;
  long end;                /* ns: the last moment seen */
  double scale;            /* px per ns */
  /* the bar being drawn, so that tiny neighbours can be merged */
  int tid, state;
  double x0, x1;
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


static double lane_y (int tid) {
  return TOP + (tid - 1) * LANE;
}


static void flush_bar (Html *h) {
  if (h->tid > 0 && h->x1 > h->x0)
    fprintf(h->f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\""
            " fill=\"%s\"/>\n", LEFT + h->x0, lane_y(h->tid) + 4,
            h->x1 - h->x0, LANE - 8, colours[h->state]);
  h->tid = 0;
}


static void on_thread (void *ud, int tid, const char *name) {
  Html *h = ud;
  if (h->pass == 0) {
    if (tid > h->nlanes)
      h->nlanes = tid;
    return;
  }
  flush_bar(h);
  fprintf(h->f, "<g class=\"lane\"><rect x=\"0\" y=\"%.1f\" width=\"%.1f\" "
          "height=\"%.1f\" fill=\"%s\"/>\n<text x=\"6\" y=\"%.1f\">",
          lane_y(tid), LEFT + WIDTH + 10, LANE,
          tid % 2 ? "#f6f6f8" : "#ffffff", lane_y(tid) + LANE / 2 + 4);
  escape(h->f, name);
  fputs("</text></g>\n", h->f);
}


static void on_span (void *ud, int tid, int state, long t0, long t1) {
  Html *h = ud;
  if (h->pass == 0) {
    if (t1 > h->end)
      h->end = t1;
    return;
  }
  double x0 = t0 * h->scale, x1 = t1 * h->scale;
  if (h->tid == tid && x1 - x0 < MIN_PX && x0 - h->x1 < MIN_PX) {
    h->x1 = x1;  /* too thin to see: widen the bar before it */
    return;
  }
  flush_bar(h);
  h->tid = tid;
  h->state = state;
  h->x0 = x0;
  h->x1 = x1;
}


static void on_instant (void *ud, int tid, long t) {
  Html *h = ud;
  if (h->pass == 0)
    return;
  fprintf(h->f, "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"#c0392b\" stroke-width=\"0.6\"/>\n",
          LEFT + t * h->scale, LEFT + t * h->scale, lane_y(tid),
          lane_y(tid) + 4);
}


/* The time axis: about ten ticks at round numbers of milliseconds. */
static void axis (Html *h, double y) {
  double ms = (double)h->end / 1e6;
  double step = pow(10, floor(log10(ms > 0 ? ms : 1)));
  if (ms / step < 4) step /= 5;
  else if (ms / step < 8) step /= 2;
  fprintf(h->f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"#333\"/>\n", LEFT, LEFT + WIDTH, y, y);
  for (double t = 0; t <= ms + 1e-9; t += step) {
    double x = LEFT + t * 1e6 * h->scale;
    fprintf(h->f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#333\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"middle\">%g ms</text>\n",
            x, x, y, y + 5, x, y + 18, t);
  }
}


static void legend (Html *h, double y) {
  for (int i = 0; i < 3; i++) {
    double x = LEFT + i * 260;
    fprintf(h->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"12\" "
            "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
            x, y, colours[i], x + 24, y + 11, statenames[i]);
  }
  fprintf(h->f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"#c0392b\" stroke-width=\"2\"/><text x=\"%.1f\" "
          "y=\"%.1f\">drop request</text>\n", LEFT + 780, LEFT + 780, y,
          y + 12, LEFT + 788, y + 11);
}


int lg_trace_write_html (FILE *f) {
  Html h = {f, 0, 0, 0, 0, 0, 0, 0, 0};
  lg_TraceVisitor v = {on_thread, on_span, on_instant, &h};
  lg_trace_visit(&v);  /* pass 0: how many lanes, how long */
  h.scale = WIDTH / (double)(h.end > 0 ? h.end : 1);
  double height = TOP + h.nlanes * LANE + 60;
  fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
          "<title>luagil GIL timeline</title>\n<style>body{font-family:"
          "sans-serif;margin:16px}svg text{font-size:12px}</style>"
          "</head>\n<body><h3>luagil: who held the GIL, %d thread%s, "
          "%.3f s</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
          "width=\"%.0f\" height=\"%.0f\">\n", h.nlanes,
          h.nlanes == 1 ? "" : "s", (double)h.end / 1e9,
          LEFT + WIDTH + 20, height + 30);
  legend(&h, 8);
  h.pass = 1;
  lg_trace_visit(&v);
  flush_bar(&h);
  axis(&h, TOP + h.nlanes * LANE + 8);
  fputs("</svg>\n</body></html>\n", f);
  return ferror(f) ? -1 : 0;
}
