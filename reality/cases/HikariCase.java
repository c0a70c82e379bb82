// HikariCP (Debian's libhikaricp-java) with PostgreSQL's JDBC driver, threads as a servlet container uses them.
//
//   java -cp HikariCP.jar:postgresql.jar:slf4j-api.jar:slf4j-nop.jar:. HikariCase OUT.csv JDBC_URL \
//        MAX_POOL_SIZE MINIMUM_IDLE CONNECTION_TIMEOUT_MS APP_NAME PHASE...
//
// PHASE is name,count,hold_s,spacing_s,hog,start_s[,then_sequential]: `count` threads; thread i calls
// getConnection() at t0 + start_s + i*spacing_s, runs SELECT pg_sleep(hold_s), closes the
// connection (back to the pool). With hog > 0 a hog thread also does `hog` cycles back to back
// from t0 (a loop that re-acquires at once). Each request notes its backend's pid; then_sequential
// requests one after another end the phase (which idle connection comes next: LIFO or FIFO?).
//
// OUT.csv: phase, rid, proc, t_call, t_acquired, t_failed, t_released, outcome, error, stamped with
// System.nanoTime() (CLOCK_MONOTONIC on Linux, the clock of Python's time.monotonic()).
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

public class HikariCase {
    static final List<String> ROWS = Collections.synchronizedList(new ArrayList<>());

    static double mono() {
        return System.nanoTime() / 1e9;
    }

    static String f(double x) {
        return Double.isNaN(x) ? "" : String.format(Locale.ROOT, "%.6f", x);
    }

    static void sleepUntil(double t) throws InterruptedException {
        double d = t - mono();
        if (d > 0) {
            Thread.sleep((long) (d * 1000), (int) ((d * 1e9) % 1_000_000));
        }
    }

    static void request(HikariDataSource ds, String phase, String rid, double startAt, double holdS) {
        try {
            sleepUntil(startAt);
        } catch (InterruptedException e) {
            return;
        }
        double tCall = mono(), tAcq = Double.NaN, tFail = Double.NaN, tRel = Double.NaN;
        String outcome = "ok", err = "", pid = "";
        Connection c = null;
        try {
            c = ds.getConnection();
            tAcq = mono();
        } catch (SQLTransientConnectionException e) {
            tFail = mono();
            outcome = "timed_out";
            err = String.valueOf(e.getMessage());
        } catch (Exception e) {
            tFail = mono();
            err = String.valueOf(e.getMessage());
            outcome = (err.contains("too many clients") || err.contains("reserved")) ? "refused" : "failed";
        }
        if (c != null) {
            try (Statement s = c.createStatement()) {
                try (java.sql.ResultSet rs = s.executeQuery(
                        String.format(Locale.ROOT, "SELECT pg_backend_pid() FROM pg_sleep(%.6f)", holdS))) {
                    rs.next();
                    pid = String.valueOf(rs.getInt(1));
                }
            } catch (Exception e) {
                outcome = "failed";
                err = String.valueOf(e.getMessage());
            } finally {
                try {
                    c.close();
                } catch (Exception e) {
                    // returned to the pool either way
                }
                tRel = mono();
            }
        }
        String e = "\"" + err.replace("\"", "'").replace("\n", " ") + "\"";
        ROWS.add(String.join(",", phase, rid, "hikari", f(tCall), f(tAcq), f(tFail), f(tRel), outcome, e, pid));
    }

    public static void main(String[] a) throws Exception {
        String out = a[0];
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(a[1]);
        cfg.setUsername("app");
        cfg.setMaximumPoolSize(Integer.parseInt(a[2]));
        cfg.setMinimumIdle(Integer.parseInt(a[3]));
        cfg.setConnectionTimeout(Long.parseLong(a[4]));
        cfg.addDataSourceProperty("ApplicationName", a[5]);
        cfg.setPoolName("rs-hikari");
        StringBuilder phases = new StringBuilder("{");
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            Thread.sleep(500); // let the housekeeper fill minimumIdle
            // Warm the JIT up (a running service is warm): the first JDBC round trips take tens of ms.
            for (int i = 0; i < 200; i++) {
                try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                    s.execute("SELECT pg_sleep(0)");
                }
            }
            for (int p = 6; p < a.length; p++) {
                String[] ph = a[p].split(",");
                String name = ph[0];
                int count = Integer.parseInt(ph[1]);
                double hold = Double.parseDouble(ph[2]), spacing = Double.parseDouble(ph[3]);
                int hog = Integer.parseInt(ph[4]);
                double start = Double.parseDouble(ph[5]);
                double t0 = mono() + 0.05;
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    final String rid = name + "-" + i;
                    final double at = t0 + start + i * spacing;
                    threads.add(new Thread(() -> request(ds, name, rid, at, hold)));
                }
                if (hog > 0) {
                    threads.add(new Thread(() -> {
                        for (int k = 0; k < hog; k++) {
                            request(ds, name, name + "-hog" + k, t0, hold);
                        }
                    }));
                }
                for (Thread t : threads) t.start();
                for (Thread t : threads) t.join();
                // Idle reuse order: then N requests one after another, each noting its backend's pid.
                int seq = ph.length > 6 ? Integer.parseInt(ph[6]) : 0;
                for (int k = 0; k < seq; k++) {
                    request(ds, name, name + "-seq" + k, 0, hold);
                }
                if (phases.length() > 1) phases.append(",");
                phases.append(String.format(Locale.ROOT, "\"%s\": %.6f", name, t0));
                Thread.sleep(1000);
            }
        }
        phases.append("}");
        try (PrintWriter w = new PrintWriter(new FileWriter(out))) {
            w.println("phase,rid,proc,t_call,t_acquired,t_failed,t_released,outcome,error,pid");
            for (String r : ROWS) w.println(r);
        }
        try (PrintWriter w = new PrintWriter(new FileWriter(out + ".phases.json"))) {
            w.println(phases);
        }
    }
}
