// Logs two lines the way KCL's DrainChildSTDERRTask does (same logger, same message format), and one
// line of the daemon's own; tests/deploy/test_kcl_logback.py reads what logback prints.
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class LogLines {
    public static void main(String[] args) {
        Logger drain = LoggerFactory.getLogger("software.amazon.kinesis.multilang.DrainChildSTDERRTask");
        for (String line : args) {
            drain.error("Received error line from subprocess [{}] for shard {}", line, "shardId-000000000001");
        }
        LoggerFactory.getLogger("software.amazon.kinesis.coordinator.Scheduler").info("daemon's own line");
    }
}
