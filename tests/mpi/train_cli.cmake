# embcl train under mpiexec: rank 0 alone prints and writes the checkpoint,
# which a single process then resumes; a rank-dependent --dim is refused,
# naming the setting and both values. Run by ctest as mpi.train_cli with
# -DTOOL= -DMPIEXEC= "-DFLAGS=" -DWORK_DIR=.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(args train --sentences 600 --dim 16 --bag-extra 4 --batch 4 --bptt 8 --cls-batch 8 --deterministic)
separate_arguments(flags UNIX_COMMAND "${FLAGS}")

execute_process(COMMAND ${MPIEXEC} ${flags} ${TOOL} ${args} --steps 4 --save ck.st --log-csv loss.csv
                WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpiexec embcl train failed (${rc}):\n${out}\n${err}")
endif()
foreach(line "data parallel over 2 ranks" "checkpoint: ck.st \\(step 4\\)" "after training")
  string(REGEX MATCHALL "${line}" hits "${out}")
  list(LENGTH hits n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "'${line}' printed ${n} times, want once (rank 0 only):\n${out}")
  endif()
endforeach()
file(STRINGS ${WORK_DIR}/loss.csv csv)
list(LENGTH csv n)
if(NOT n EQUAL 5)
  message(FATAL_ERROR "loss.csv has ${n} lines, want a header and 4 steps (written once):\n${csv}")
endif()

# The checkpoint loads in one process and training goes on from step 4.
execute_process(COMMAND ${TOOL} train --resume ck.st --steps 6 --quiet
                WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "resumed from ck.st at step 4")
  message(FATAL_ERROR "resuming the data-parallel checkpoint in one process failed (${rc}):\n${out}\n${err}")
endif()

# Ranks given different --dim: refused at start on every rank, not a hang.
string(REPLACE ";" " " args_str "${args}")
execute_process(COMMAND ${MPIEXEC} ${flags} sh -c "exec '${TOOL}' ${args_str} --steps 2 --dim $((16 + 8 * \${OMPI_COMM_WORLD_RANK:-\${PMI_RANK:-0}}))"
                WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0 OR NOT err MATCHES "setting 'dim' differs across ranks: rank 0 has 16, rank 1 has 24")
  message(FATAL_ERROR "a rank-dependent --dim was not refused by name (${rc}):\n${out}\n${err}")
endif()
